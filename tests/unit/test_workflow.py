"""The workflow state machine: every step with its role, the branches, the code mapping."""

from __future__ import annotations

import pytest

from backend.domain.workflow import (
    EXCHANGE_CODE,
    TRANSITIONS,
    Action,
    Role,
    Status,
    WorkflowError,
    allowed_actions,
    plan,
)

S, R, A = Status, Role, Action


def test_every_status_maps_to_one_exchange_code() -> None:
    assert set(EXCHANGE_CODE) == set(Status)
    assert all(len(c) == 2 and 0 <= int(c) <= 13 for c in EXCHANGE_CODE.values())


def test_happy_path_in_order() -> None:
    steps = [
        (A.ACCEPT, R.ONE_STOP, S.AWAITING_ASSIGNMENT),
        (A.ASSIGN, R.DEPARTMENT_HEAD, S.APPRAISING),
        (A.DRAFT_RESULT, R.SPECIALIST, S.AWAITING_APPROVAL),
        (A.APPROVE, R.DEPARTMENT_HEAD, S.AWAITING_SIGNATURE),
        (A.SIGN, R.AGENCY_HEAD, S.SIGNED),
        (A.FORWARD_RESULT, R.SPECIALIST, S.AWAITING_STAMP),
        (A.STAMP, R.CLERK, S.AWAITING_RETURN),
        (A.RETURN_RESULT, R.ONE_STOP, S.RETURNED),
        (A.CLOSE, R.ONE_STOP, S.CLOSED),
    ]
    status = S.SUBMITTED
    for action, role, expected in steps:
        status = plan(action, status, role)
        assert status is expected
    assert EXCHANGE_CODE[status] == "13"


def test_back_branches() -> None:
    assert plan(A.SEND_BACK_DRAFT, S.AWAITING_APPROVAL, R.DEPARTMENT_HEAD) is S.NOT_APPROVED
    assert plan(A.DRAFT_RESULT, S.NOT_APPROVED, R.SPECIALIST) is S.AWAITING_APPROVAL
    assert plan(A.SEND_BACK_SIGNATURE, S.AWAITING_SIGNATURE, R.AGENCY_HEAD) is S.NOT_SIGNED
    assert plan(A.APPROVE, S.NOT_SIGNED, R.DEPARTMENT_HEAD) is S.AWAITING_SIGNATURE
    assert EXCHANGE_CODE[S.NOT_APPROVED] == "07" and EXCHANGE_CODE[S.NOT_SIGNED] == "10"


def test_check_outcomes() -> None:
    assert plan(A.REJECT, S.SUBMITTED, R.ONE_STOP) is S.REJECTED
    assert plan(A.REQUEST_SUPPLEMENT, S.SUBMITTED, R.ONE_STOP) is S.AWAITING_SUPPLEMENT
    assert plan(A.ADD_SUPPLEMENT, S.AWAITING_SUPPLEMENT, R.CITIZEN) is S.SUBMITTED


def test_supplement_during_appraisal_returns_to_appraisal() -> None:
    assert plan(A.REQUEST_SUPPLEMENT, S.APPRAISING, R.SPECIALIST) is S.APPRAISAL_SUPPLEMENT
    assert plan(A.ADD_SUPPLEMENT, S.APPRAISAL_SUPPLEMENT, R.CITIZEN) is S.APPRAISING
    with pytest.raises(WorkflowError):  # the one-stop officer does not ask during appraisal
        plan(A.REQUEST_SUPPLEMENT, S.APPRAISING, R.ONE_STOP)


def test_consultation_round_trip() -> None:
    assert plan(A.CONSULT, S.APPRAISING, R.SPECIALIST) is S.CONSULTING
    assert plan(A.ANSWER_CONSULTATION, S.CONSULTING, R.SPECIALIST) is S.APPRAISING


def test_extension_keeps_status_and_is_only_during_processing() -> None:
    assert plan(A.EXTEND, S.APPRAISING, R.SPECIALIST) is S.APPRAISING
    for status in (S.SUBMITTED, S.AWAITING_RETURN, S.CLOSED):
        with pytest.raises(WorkflowError):
            plan(A.EXTEND, status, R.SPECIALIST)


@pytest.mark.parametrize("action", list(TRANSITIONS))
def test_each_action_refuses_every_other_role(action: Action) -> None:
    t = TRANSITIONS[action]
    source = next(iter(t.sources))
    for role in Role:
        if role in t.roles:
            continue
        with pytest.raises(WorkflowError) as err:
            plan(action, source, role)
        assert "không được" in str(err.value)


def test_wrong_state_message_names_the_state() -> None:
    with pytest.raises(WorkflowError, match="Chờ ký duyệt"):
        plan(A.STAMP, S.AWAITING_SIGNATURE, R.CLERK)
    with pytest.raises(WorkflowError):
        plan(A.SIGN, S.CLOSED, R.AGENCY_HEAD)


def test_specialist_cannot_sign() -> None:
    with pytest.raises(WorkflowError, match="Chuyên viên thụ lý không được"):
        plan(A.SIGN, S.AWAITING_SIGNATURE, R.SPECIALIST)


def test_allowed_actions_for_the_console() -> None:
    assert allowed_actions(S.SUBMITTED, R.ONE_STOP) == [A.REJECT, A.ACCEPT, A.REQUEST_SUPPLEMENT]
    assert allowed_actions(S.AWAITING_SIGNATURE, R.AGENCY_HEAD) == [A.SIGN, A.SEND_BACK_SIGNATURE]
    assert allowed_actions(S.CLOSED, R.ONE_STOP) == []
