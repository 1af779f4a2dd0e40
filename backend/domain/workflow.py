"""The one-stop workflow (quy trình một cửa) as one explicit state machine.

Steps, roles and branches follow 000 §3–4 and 004 Điều 10–13 (see shared/DOMAIN.md). Every
internal status maps to exactly one exchange code 00–13 of 002 Phụ lục (TrangThaiXuLy).
The machine is pure: ``plan`` checks an action against the dossier's state and the actor's
role and returns the new status, or raises ``WorkflowError`` and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    CITIZEN = "citizen"  # tổ chức, cá nhân
    ONE_STOP = "one_stop"  # công chức tiếp nhận và trả kết quả
    DEPARTMENT_HEAD = "department_head"  # lãnh đạo phòng chuyên môn
    SPECIALIST = "specialist"  # chuyên viên thụ lý
    AGENCY_HEAD = "agency_head"  # lãnh đạo cơ quan
    CLERK = "clerk"  # văn thư
    ADMIN = "admin"  # quản trị
    SYSTEM = "system"


ROLE_NAMES_VI = {
    Role.CITIZEN: "Công dân",
    Role.ONE_STOP: "Công chức Một cửa",
    Role.DEPARTMENT_HEAD: "Lãnh đạo phòng",
    Role.SPECIALIST: "Chuyên viên thụ lý",
    Role.AGENCY_HEAD: "Lãnh đạo cơ quan",
    Role.CLERK: "Văn thư",
    Role.ADMIN: "Quản trị",
    Role.SYSTEM: "Hệ thống",
}


class Status(StrEnum):
    SUBMITTED = "submitted"  # mới, chờ kiểm tra
    AWAITING_SUPPLEMENT = "awaiting_supplement"  # chờ bổ sung (at the check)
    REJECTED = "rejected"  # từ chối tiếp nhận
    AWAITING_ASSIGNMENT = "awaiting_assignment"  # chờ phân công
    APPRAISING = "appraising"  # đang thẩm định
    APPRAISAL_SUPPLEMENT = "appraisal_supplement"  # chờ bổ sung (during appraisal)
    CONSULTING = "consulting"  # đang lấy ý kiến
    AWAITING_APPROVAL = "awaiting_approval"  # chờ xét duyệt
    NOT_APPROVED = "not_approved"  # không duyệt, trả lại chuyên viên
    AWAITING_SIGNATURE = "awaiting_signature"  # chờ ký duyệt
    NOT_SIGNED = "not_signed"  # không ký, trả lại lãnh đạo phòng
    SIGNED = "signed"  # đã ký, chờ chuyển văn thư
    AWAITING_STAMP = "awaiting_stamp"  # chờ đóng dấu
    AWAITING_RETURN = "awaiting_return"  # chờ trả kết quả
    RETURNED = "returned"  # đã trả kết quả
    CLOSED = "closed"  # kết thúc


STATUS_NAMES_VI = {
    Status.SUBMITTED: "Mới tiếp nhận, chờ kiểm tra",
    Status.AWAITING_SUPPLEMENT: "Chờ bổ sung hồ sơ",
    Status.REJECTED: "Từ chối tiếp nhận",
    Status.AWAITING_ASSIGNMENT: "Chờ phân công xử lý",
    Status.APPRAISING: "Đang xử lý",
    Status.APPRAISAL_SUPPLEMENT: "Chờ bổ sung hồ sơ",
    Status.CONSULTING: "Đang xử lý (lấy ý kiến cơ quan liên quan)",
    Status.AWAITING_APPROVAL: "Chờ xét duyệt",
    Status.NOT_APPROVED: "Đang xử lý (không duyệt, xử lý lại)",
    Status.AWAITING_SIGNATURE: "Chờ ký duyệt",
    Status.NOT_SIGNED: "Đang xử lý (chưa ký, xét duyệt lại)",
    Status.SIGNED: "Đã ký, đang hoàn tất kết quả",
    Status.AWAITING_STAMP: "Đã ký, đang hoàn tất kết quả",
    Status.AWAITING_RETURN: "Đã có kết quả, chờ trả",
    Status.RETURNED: "Đã trả kết quả",
    Status.CLOSED: "Kết thúc",
}

# 002 Phụ lục, TrangThaiXuLy. 05 (awaiting submission for approval) and 08 (awaiting
# submission for signature) have no state of their own here: the specialist's draft and the
# head's approval submit in the same action, as the 000 §4 steps describe.
EXCHANGE_CODE: dict[Status, str] = {
    Status.SUBMITTED: "00",
    Status.AWAITING_ASSIGNMENT: "01",
    Status.APPRAISING: "02",
    Status.AWAITING_SUPPLEMENT: "03",
    Status.APPRAISAL_SUPPLEMENT: "03",
    Status.CONSULTING: "04",
    Status.AWAITING_APPROVAL: "06",
    Status.NOT_APPROVED: "07",
    Status.AWAITING_SIGNATURE: "09",
    Status.NOT_SIGNED: "10",
    Status.SIGNED: "11",
    Status.AWAITING_STAMP: "11",
    Status.AWAITING_RETURN: "11",
    Status.RETURNED: "12",
    Status.REJECTED: "13",
    Status.CLOSED: "13",
}

FINAL = frozenset({Status.REJECTED, Status.CLOSED})
# Work on the dossier is finished (NgayHoanTatXuLy) once the result reaches the desk.
FINISHED = frozenset({Status.AWAITING_RETURN, Status.RETURNED, Status.CLOSED, Status.REJECTED})
# Where the extension (gia hạn) may be asked: while the agency still holds the work.
IN_PROCESSING = frozenset(
    {
        Status.AWAITING_ASSIGNMENT,
        Status.APPRAISING,
        Status.CONSULTING,
        Status.AWAITING_APPROVAL,
        Status.NOT_APPROVED,
        Status.AWAITING_SIGNATURE,
        Status.NOT_SIGNED,
        Status.SIGNED,
        Status.AWAITING_STAMP,
    }
)


class Action(StrEnum):
    SUBMIT = "submit"
    REJECT = "reject"  # từ chối
    REQUEST_SUPPLEMENT = "request_supplement"  # yêu cầu bổ sung
    ADD_SUPPLEMENT = "add_supplement"  # công dân bổ sung
    ACCEPT = "accept"  # tiếp nhận
    ASSIGN = "assign"  # phân công
    CONSULT = "consult"  # lấy ý kiến
    ANSWER_CONSULTATION = "answer_consultation"
    DRAFT_RESULT = "draft_result"  # thẩm định, dự thảo kết quả
    APPROVE = "approve"  # xét duyệt
    SEND_BACK_DRAFT = "send_back_draft"  # không duyệt
    SIGN = "sign"  # ký duyệt
    SEND_BACK_SIGNATURE = "send_back_signature"  # không ký
    FORWARD_RESULT = "forward_result"  # chuyển kết quả cho văn thư
    STAMP = "stamp"  # đóng dấu, chuyển Một cửa
    RETURN_RESULT = "return_result"  # trả kết quả
    CLOSE = "close"  # kết thúc
    EXTEND = "extend"  # gia hạn
    RATE = "rate"  # đánh giá


ACTION_NAMES_VI = {
    Action.SUBMIT: "Nộp hồ sơ",
    Action.REJECT: "Từ chối tiếp nhận",
    Action.REQUEST_SUPPLEMENT: "Yêu cầu bổ sung",
    Action.ADD_SUPPLEMENT: "Bổ sung hồ sơ",
    Action.ACCEPT: "Tiếp nhận",
    Action.ASSIGN: "Phân công",
    Action.CONSULT: "Lấy ý kiến",
    Action.ANSWER_CONSULTATION: "Nhận ý kiến",
    Action.DRAFT_RESULT: "Thẩm định, trình duyệt",
    Action.APPROVE: "Duyệt",
    Action.SEND_BACK_DRAFT: "Không duyệt, trả lại",
    Action.SIGN: "Ký duyệt",
    Action.SEND_BACK_SIGNATURE: "Không ký, trả lại",
    Action.FORWARD_RESULT: "Chuyển văn thư",
    Action.STAMP: "Đóng dấu, chuyển Một cửa",
    Action.RETURN_RESULT: "Trả kết quả",
    Action.CLOSE: "Kết thúc hồ sơ",
    Action.EXTEND: "Gia hạn",
    Action.RATE: "Đánh giá",
}


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[Status]
    roles: frozenset[Role]
    target: Status | None  # None: the status stays (extension, rating)


def _t(action: Action, sources: set[Status], roles: set[Role], target: Status | None) -> Transition:
    return Transition(action, frozenset(sources), frozenset(roles), target)


S, R, A = Status, Role, Action
TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in [
        _t(A.REJECT, {S.SUBMITTED}, {R.ONE_STOP}, S.REJECTED),
        _t(A.ACCEPT, {S.SUBMITTED}, {R.ONE_STOP}, S.AWAITING_ASSIGNMENT),
        # The target depends on who asks; see ``plan``.
        _t(A.REQUEST_SUPPLEMENT, {S.SUBMITTED, S.APPRAISING}, {R.ONE_STOP, R.SPECIALIST}, None),
        _t(A.ADD_SUPPLEMENT, {S.AWAITING_SUPPLEMENT, S.APPRAISAL_SUPPLEMENT}, {R.CITIZEN}, None),
        _t(A.ASSIGN, {S.AWAITING_ASSIGNMENT}, {R.DEPARTMENT_HEAD}, S.APPRAISING),
        _t(A.CONSULT, {S.APPRAISING}, {R.SPECIALIST}, S.CONSULTING),
        _t(A.ANSWER_CONSULTATION, {S.CONSULTING}, {R.SPECIALIST}, S.APPRAISING),
        _t(A.DRAFT_RESULT, {S.APPRAISING, S.NOT_APPROVED}, {R.SPECIALIST}, S.AWAITING_APPROVAL),
        _t(A.APPROVE, {S.AWAITING_APPROVAL, S.NOT_SIGNED}, {R.DEPARTMENT_HEAD}, S.AWAITING_SIGNATURE),
        _t(A.SEND_BACK_DRAFT, {S.AWAITING_APPROVAL, S.NOT_SIGNED}, {R.DEPARTMENT_HEAD}, S.NOT_APPROVED),
        _t(A.SIGN, {S.AWAITING_SIGNATURE}, {R.AGENCY_HEAD}, S.SIGNED),
        _t(A.SEND_BACK_SIGNATURE, {S.AWAITING_SIGNATURE}, {R.AGENCY_HEAD}, S.NOT_SIGNED),
        _t(A.FORWARD_RESULT, {S.SIGNED}, {R.SPECIALIST}, S.AWAITING_STAMP),
        _t(A.STAMP, {S.AWAITING_STAMP}, {R.CLERK}, S.AWAITING_RETURN),
        _t(A.RETURN_RESULT, {S.AWAITING_RETURN}, {R.ONE_STOP}, S.RETURNED),
        _t(A.CLOSE, {S.RETURNED}, {R.ONE_STOP}, S.CLOSED),
        _t(A.EXTEND, set(IN_PROCESSING), {R.SPECIALIST, R.DEPARTMENT_HEAD}, None),
        _t(A.RATE, {S.RETURNED, S.CLOSED}, {R.CITIZEN}, None),
    ]
}


class WorkflowError(Exception):
    """An action the rules do not allow; the message is readable by an officer (Vietnamese)."""


def plan(action: Action, status: Status, role: Role) -> Status:
    """The status after ``action`` by ``role`` from ``status``, or ``WorkflowError``."""
    t = TRANSITIONS.get(action)
    if t is None:
        raise WorkflowError(f"Thao tác không hợp lệ: {action}")
    name = ACTION_NAMES_VI[action]
    if role not in t.roles:
        allowed = ", ".join(ROLE_NAMES_VI[r] for r in sorted(t.roles))
        raise WorkflowError(f"{ROLE_NAMES_VI[role]} không được thực hiện «{name}»; chỉ {allowed} được làm việc này.")
    if status not in t.sources:
        raise WorkflowError(f"Không thể «{name}» khi hồ sơ đang ở trạng thái «{STATUS_NAMES_VI[status]}».")
    if action is A.REQUEST_SUPPLEMENT:
        expected = {S.SUBMITTED: R.ONE_STOP, S.APPRAISING: R.SPECIALIST}[status]
        if role is not expected:
            raise WorkflowError(f"Ở bước này chỉ {ROLE_NAMES_VI[expected]} được yêu cầu bổ sung hồ sơ.")
        return S.AWAITING_SUPPLEMENT if status is S.SUBMITTED else S.APPRAISAL_SUPPLEMENT
    if action is A.ADD_SUPPLEMENT:
        return S.SUBMITTED if status is S.AWAITING_SUPPLEMENT else S.APPRAISING
    return t.target or status


def allowed_actions(status: Status, role: Role) -> list[Action]:
    """The actions ``role`` may take on a dossier in ``status`` (what the console offers)."""
    out = []
    for action in TRANSITIONS:
        try:
            plan(action, status, role)
        except WorkflowError:
            continue
        out.append(action)
    return out


# Who holds the next task in each status (the officer queue "việc của tôi"). ``assignee``
# means the specialist the dossier is assigned to; the rest are the role's pool in the
# dossier's agency (and department, for department heads).
TASK_HOLDER: dict[Status, tuple[Role, bool]] = {
    S.SUBMITTED: (R.ONE_STOP, False),
    S.AWAITING_ASSIGNMENT: (R.DEPARTMENT_HEAD, False),
    S.APPRAISING: (R.SPECIALIST, True),
    S.NOT_APPROVED: (R.SPECIALIST, True),
    S.AWAITING_APPROVAL: (R.DEPARTMENT_HEAD, False),
    S.NOT_SIGNED: (R.DEPARTMENT_HEAD, False),
    S.AWAITING_SIGNATURE: (R.AGENCY_HEAD, False),
    S.SIGNED: (R.SPECIALIST, True),
    S.AWAITING_STAMP: (R.CLERK, False),
    S.AWAITING_RETURN: (R.ONE_STOP, False),
}


# What the citizen is told about, by action. The citizen's own actions (submit, supplement,
# rate) are answered in the same chat turn; transitions not listed here are internal.
CITIZEN_EVENTS: dict[Action, str] = {
    A.REJECT: "rejected",
    A.REQUEST_SUPPLEMENT: "supplement_requested",
    A.ACCEPT: "accepted",
    A.EXTEND: "extended",
    A.STAMP: "result_ready",
    A.RETURN_RESULT: "returned",
}
