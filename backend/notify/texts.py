"""The texts of every notification, in one place for review. Vietnamese, short, actionable."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backend.domain.calendar import VN_TZ
from backend.domain.messages import Button, Text


def when(iso: str | None) -> str:
    """'08:00 ngày 24/11/2026' from a stored ISO time."""
    if not iso:
        return "(chưa có)"
    m = datetime.fromisoformat(iso).astimezone(VN_TZ)
    return f"{m:%H:%M} ngày {m:%d/%m/%Y}"


def _bullets(items: list[str]) -> str:
    return "\n".join(f"{i}. {x}" for i, x in enumerate(items, 1))


def citizen_text(kind: str, p: dict[str, Any]) -> str:
    head = f"Hồ sơ {p['code']} ({p['procedure']})"
    if kind == "accepted":
        return (
            f"{head} đã được tiếp nhận.\nNgày hẹn trả kết quả: {when(p.get('appointment_at'))}.\n"
            f"Tra cứu: {p['lookup_url']}"
        )
    if kind == "supplement_requested":
        note = f"\nGhi chú: {p['note']}" if p.get("note") else ""
        return (
            f"{head} cần bổ sung, hoàn thiện như sau:\n{_bullets(p.get('items', []))}{note}\n"
            "Anh/chị vui lòng chụp và gửi các giấy tờ trên ngay trong cuộc trò chuyện này."
        )
    if kind == "rejected":
        return (
            f"{head} không được tiếp nhận.\nLý do: {p.get('reason', '')}\n"
            "Nếu cần, anh/chị có thể nộp lại hồ sơ mới hoặc liên hệ Bộ phận Một cửa."
        )
    if kind == "extended":
        return (
            f"Chúng tôi thành thật xin lỗi: {head} chưa thể trả kết quả đúng hẹn.\n"
            f"Lý do: {p.get('reason', '')}\nNgày hẹn mới: {when(p.get('new_appointment_at'))}."
        )
    if kind == "result_ready":
        if p.get("result_kind") == "refusal":
            return (
                f"{head} đã có kết quả: không giải quyết.\nLý do: {p.get('note', '')}\n"
                "Anh/chị nhận văn bản trả lời tại Bộ phận Một cửa."
            )
        return (
            f"{head} đã có kết quả ({p.get('result', '')}).\n"
            "Khi đến nhận, anh/chị vui lòng mang theo bản chính các giấy tờ đã gửi để đối chiếu"
            f" và giấy hẹn. Lệ phí: {p.get('fee', 'Không')}."
        )
    if kind == "returned":
        return (
            f"{head} đã trả kết quả. Cảm ơn anh/chị đã sử dụng dịch vụ!\n"
            "Anh/chị vui lòng đánh giá mức độ hài lòng (1 đến 5 sao)."
        )
    raise ValueError(f"no text for citizen notification {kind}")


RATING_BUTTONS = tuple((Button("★" * n, f"rate:{{code}}:{n}"),) for n in (5, 4, 3, 2, 1))

# What an officer holding each task is asked to do, and the quick actions offered in chat
# (the usual one first; the engine asks for the reason of a refusal or send-back).
TASK_TEXTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submitted": ("Hồ sơ mới cần kiểm tra", ("accept", "request_supplement", "reject")),
    "awaiting_assignment": ("Hồ sơ chờ phân công", ("assign",)),
    "appraising": ("Hồ sơ được giao thẩm định", ()),
    "not_approved": ("Hồ sơ bị trả lại, cần thẩm định lại", ()),
    "awaiting_approval": ("Hồ sơ chờ xét duyệt", ("approve", "send_back_draft")),
    "not_signed": ("Hồ sơ chưa được ký, cần xét duyệt lại", ("approve", "send_back_draft")),
    "awaiting_signature": ("Hồ sơ chờ ký duyệt", ("sign", "send_back_signature")),
    "signed": ("Hồ sơ đã ký, cần chuyển văn thư", ("forward_result",)),
    "awaiting_stamp": ("Hồ sơ chờ đóng dấu", ("stamp",)),
    "awaiting_return": ("Hồ sơ chờ trả kết quả cho công dân", ()),
}
ACTION_LABELS = {
    "accept": "Tiếp nhận", "request_supplement": "Yêu cầu bổ sung", "reject": "Từ chối",
    "assign": "Phân công", "approve": "Duyệt", "send_back_draft": "Không duyệt",
    "sign": "Ký", "send_back_signature": "Không ký", "forward_result": "Chuyển văn thư",
    "stamp": "Đóng dấu",
}


def officer_task(kind: str, p: dict[str, Any], console_url: str) -> Text:
    """A task (or due reminder) for an officer, with its quick actions as buttons."""
    title, actions = TASK_TEXTS.get(p.get("status", ""), ("Hồ sơ cần xử lý", ()))
    if kind == "due_reminder":
        title = f"Nhắc hạn: {title.lower()}"
    text = (
        f"{title}\nMã: {p['code']}\nThủ tục: {p['procedure']}\nNgười nộp: {p.get('submitter', '')}\n"
        f"Hạn trả: {when(p.get('appointment_at'))}"
    )
    url = f"{console_url.rstrip('/')}/console/dossiers/{p['dossier_id']}"
    quick = tuple(Button(ACTION_LABELS[a], f"do:{a}:{p['dossier_id']}:{p['version']}") for a in actions)
    rows = ((quick,) if quick else ()) + ((Button("Mở trên trang quản trị", "open", url=url),),)
    return Text(text, buttons=rows)


def officer_digest(p: dict[str, Any]) -> Text:
    """The morning digest: what waits for the officer today, overdue first."""
    day = datetime.fromisoformat(p["date"]).strftime("%d/%m/%Y")
    lines = [f"Chào buổi sáng! Ngày {day} anh/chị có {p['total']} hồ sơ cần xử lý."]
    if p.get("overdue"):
        lines.append(f"⚠️ Quá hạn: {p['overdue']}")
    if p.get("due_soon"):
        lines.append(f"⏰ Sắp đến hạn: {p['due_soon']}")
    lines += [f"• {s['status_vi']}: {s['count']}" for s in p.get("by_status", [])]
    codes = p.get("codes", [])
    if codes:
        lines.append("Mã hồ sơ:")
        lines += [f"{c['code']}{' (quá hạn)' if c.get('overdue') else ''}" for c in codes]
        if p["total"] > len(codes):
            lines.append(f"… và {p['total'] - len(codes)} hồ sơ khác trên trang quản trị.")
    return Text("\n".join(lines))
