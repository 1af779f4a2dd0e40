"""Tortoise models: the stored shape of agencies, officers, citizens, dossiers and the outbox."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from backend.db.fields import UtcDatetimeField


class Agency(Model):
    """A receiving/processing agency (cơ quan): the UBND of a commune or a provincial department."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=16, unique=True)  # V1V2V3.Z1Z2.Y1Y2.MX1X2
    name = fields.CharField(max_length=200)
    parent_name = fields.CharField(max_length=200, default="")  # printed above the name on forms
    level = fields.CharField(max_length=16)  # commune | province
    office_hours = fields.JSONField(default=dict)  # OfficeHours.as_config()
    active = fields.BooleanField(default=True)

    class Meta:
        table = "agency"


class Department(Model):
    """A department (phòng chuyên môn) inside an agency."""

    id = fields.IntField(primary_key=True)
    agency = fields.ForeignKeyField("models.Agency", related_name="departments")
    key = fields.CharField(max_length=40)
    name = fields.CharField(max_length=200)

    class Meta:
        table = "department"
        unique_together = (("agency", "key"),)


class Officer(Model):
    """The personal account of an officer: every action is recorded against it (004 Điều 5.3)."""

    id = fields.IntField(primary_key=True)
    username = fields.CharField(max_length=64, unique=True)
    full_name = fields.CharField(max_length=120)
    role = fields.CharField(max_length=24)
    agency = fields.ForeignKeyField("models.Agency", related_name="officers", null=True)
    department = fields.ForeignKeyField("models.Department", related_name="officers", null=True)
    password_hash = fields.CharField(max_length=255, default="")
    must_change_password = fields.BooleanField(default=True)
    failed_logins = fields.IntField(default=0)
    locked_until = UtcDatetimeField(null=True)
    active = fields.BooleanField(default=True)
    demo = fields.BooleanField(default=False)  # seeded demo account: production refuses to start with one
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "officer"


class ConsoleSession(Model):
    """A logged-in console session, kept on the server: logout or a password change ends it."""

    id = fields.BigIntField(primary_key=True)
    sid_hash = fields.CharField(max_length=64, unique=True)  # sha256 of the cookie's session id
    officer = fields.ForeignKeyField("models.Officer", related_name="console_sessions")
    created_at = UtcDatetimeField()
    last_seen_at = UtcDatetimeField()
    expires_at = UtcDatetimeField(db_index=True)
    revoked_at = UtcDatetimeField(null=True)

    class Meta:
        table = "console_session"


class AuthThrottle(Model):
    """Failed attempts against one key (an account, a source, a device), with the backoff they earned."""

    key = fields.CharField(max_length=200, primary_key=True)
    failures = fields.IntField(default=0)
    blocked_until = UtcDatetimeField(null=True)
    updated_at = UtcDatetimeField()

    class Meta:
        table = "auth_throttle"


class RateBucket(Model):
    """A token bucket shared by every worker: ``tokens`` left at ``at`` (epoch seconds)."""

    key = fields.CharField(max_length=200, primary_key=True)
    tokens = fields.FloatField()
    at = fields.FloatField()
    allowed = fields.BooleanField(default=True)  # whether the last take succeeded

    class Meta:
        table = "rate_bucket"


class Citizen(Model):
    """A person (công dân). Reachable on several channels: see ``ChannelIdentity``."""

    id = fields.IntField(primary_key=True)
    full_name = fields.CharField(max_length=120, default="")
    phone = fields.CharField(max_length=20, default="")
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "citizen"


class ChannelIdentity(Model):
    """One chat account of a citizen (a Zalo user, a Telegram chat, a web chat session)."""

    id = fields.IntField(primary_key=True)
    citizen = fields.ForeignKeyField("models.Citizen", related_name="identities")
    channel = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128)
    display_name = fields.CharField(max_length=120, default="")
    last_inbound_at = UtcDatetimeField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "channel_identity"
        unique_together = (("channel", "external_id"),)


class OfficerChannelLink(Model):
    """The chat account of an officer, linked with a one-time token from the console.

    Tasks flow and quick actions work only once the officer has confirmed it in the console.
    """

    id = fields.IntField(primary_key=True)
    officer = fields.ForeignKeyField("models.Officer", related_name="chat_links")
    channel = fields.CharField(max_length=16)
    external_id = fields.CharField(max_length=128)
    label = fields.CharField(max_length=120, default="")  # the chat's display name, shown on the account page
    created_at = UtcDatetimeField(auto_now_add=True)
    confirmed_at = UtcDatetimeField(null=True)

    class Meta:
        table = "officer_channel_link"
        unique_together = (("channel", "external_id"),)


class OneTimeToken(Model):
    """A single-use token (a chat link, later payment references and one-time links).

    Only its hash is kept, and it is consumed by one conditional update, so a token sent many
    times at once works once.
    """

    id = fields.BigIntField(primary_key=True)
    purpose = fields.CharField(max_length=32)
    token_hash = fields.CharField(max_length=64, unique=True)
    officer = fields.ForeignKeyField("models.Officer", related_name="tokens", null=True)
    subject = fields.JSONField(default=dict)
    created_at = UtcDatetimeField()
    expires_at = UtcDatetimeField()
    used_at = UtcDatetimeField(null=True)

    class Meta:
        table = "one_time_token"


class CodeCounter(Model):
    """Last dossier sequence issued per agency and day (002 Điều 20)."""

    id = fields.IntField(primary_key=True)
    agency = fields.ForeignKeyField("models.Agency", related_name="code_counters")
    day = fields.DateField()
    last_sequence = fields.IntField(default=0)

    class Meta:
        table = "code_counter"
        unique_together = (("agency", "day"),)


class Dossier(Model):
    """A dossier (hồ sơ thủ tục hành chính)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=40, unique=True)
    procedure_slug = fields.CharField(max_length=64, db_index=True)
    agency = fields.ForeignKeyField("models.Agency", related_name="dossiers")
    department = fields.ForeignKeyField("models.Department", related_name="dossiers", null=True)
    citizen = fields.ForeignKeyField("models.Citizen", related_name="dossiers")
    identity = fields.ForeignKeyField("models.ChannelIdentity", related_name="dossiers", null=True)
    submitter_name = fields.CharField(max_length=120)
    submitter_address = fields.CharField(max_length=255, default="")
    submitter_phone = fields.CharField(max_length=20, default="")
    submitter_id_number = fields.CharField(max_length=12, default="")
    organisation = fields.CharField(max_length=200, default="")
    form_data = fields.JSONField(default=dict)
    status = fields.CharField(max_length=32, db_index=True)
    submitted_at = UtcDatetimeField()
    received_at = UtcDatetimeField(null=True)  # complete and accepted: the clock's origin
    appointment_at = UtcDatetimeField(null=True, db_index=True)  # ngày hẹn trả
    finished_at = UtcDatetimeField(null=True)  # NgayHoanTatXuLy
    closed_at = UtcDatetimeField(null=True)
    assignee = fields.ForeignKeyField("models.Officer", related_name="assigned", null=True)
    extension_used = fields.BooleanField(default=False)
    supplement_items = fields.JSONField(default=list)  # what is missing, while awaiting it
    supplement_note = fields.TextField(default="")
    rejection_reason = fields.TextField(default="")
    result_kind = fields.CharField(max_length=16, default="")  # grant | refusal
    result_note = fields.TextField(default="")
    consultation = fields.JSONField(null=True)  # {agency, question, deadline}
    needs_verification = fields.BooleanField(default=False)
    rating = fields.IntField(null=True)
    rating_comment = fields.TextField(default="")
    version = fields.IntField(default=0)  # bumped by every action: guards double taps
    submission_key = fields.CharField(max_length=160, null=True, unique=True)  # the chat event that filed it
    updated_at = UtcDatetimeField(auto_now=True)

    class Meta:
        table = "dossier"


class Attachment(Model):
    """A photo or file a citizen sent, with what OCR read from it."""

    id = fields.IntField(primary_key=True)
    dossier = fields.ForeignKeyField("models.Dossier", related_name="attachments", null=True)
    citizen = fields.ForeignKeyField("models.Citizen", related_name="attachments", null=True)
    component = fields.CharField(max_length=40, default="")
    content_hash = fields.CharField(max_length=64, db_index=True)
    mime_type = fields.CharField(max_length=64)
    size = fields.IntField()
    filename = fields.CharField(max_length=200, default="")
    stored_path = fields.CharField(max_length=255)
    ocr = fields.JSONField(null=True)
    supplement_round = fields.IntField(default=0)
    created_at = UtcDatetimeField(auto_now_add=True)
    purged_at = UtcDatetimeField(null=True)  # the file was deleted under the retention policy

    class Meta:
        table = "attachment"


class HistoryEntry(Model):
    """An append-only record of one action on a dossier (nhật ký xử lý)."""

    id = fields.BigIntField(primary_key=True)
    dossier = fields.ForeignKeyField("models.Dossier", related_name="history")
    at = UtcDatetimeField()
    actor_officer = fields.ForeignKeyField("models.Officer", related_name="actions", null=True)
    actor_citizen = fields.ForeignKeyField("models.Citizen", related_name="actions", null=True)
    actor_role = fields.CharField(max_length=24)
    action = fields.CharField(max_length=32)
    from_status = fields.CharField(max_length=32, default="")
    to_status = fields.CharField(max_length=32)
    note = fields.TextField(default="")
    data = fields.JSONField(default=dict)

    class Meta:
        table = "history_entry"
        ordering = ["id"]


class OutboxMessage(Model):
    """A notification written in the same transaction as the change that causes it.

    ``recipient``: ``citizen`` (to ``identity``), ``officer`` (to every chat link of
    ``officer``) or ``pool`` (every officer of ``pool_role`` in the agency/department). The
    dispatcher is the only sender; ``delivered`` lists the addresses already done, so a
    retry after a crash sends only to the rest.
    """

    id = fields.BigIntField(primary_key=True)
    dossier = fields.ForeignKeyField("models.Dossier", related_name="outbox", null=True)
    kind = fields.CharField(max_length=40)
    recipient = fields.CharField(max_length=16)
    identity = fields.ForeignKeyField("models.ChannelIdentity", related_name="outbox", null=True)
    officer = fields.ForeignKeyField("models.Officer", related_name="outbox", null=True)
    pool_role = fields.CharField(max_length=24, default="")
    pool_agency = fields.ForeignKeyField("models.Agency", related_name="outbox", null=True)
    pool_department = fields.ForeignKeyField("models.Department", related_name="outbox", null=True)
    payload = fields.JSONField(default=dict)
    status = fields.CharField(max_length=16, default="pending", db_index=True)
    attempts = fields.IntField(default=0)
    next_attempt_at = UtcDatetimeField(null=True)
    last_error = fields.TextField(default="")
    delivered = fields.JSONField(default=list)
    created_at = UtcDatetimeField(auto_now_add=True)
    sent_at = UtcDatetimeField(null=True)
    dedupe_key = fields.CharField(max_length=200, null=True, unique=True)  # a notice queued once only
    channel = fields.CharField(max_length=16, default="")  # recipient "chat": a reply to this chat
    chat_user = fields.CharField(max_length=128, default="")

    class Meta:
        table = "outbox_message"
        ordering = ["id"]


class ConversationState(Model):
    """Where a chat stands (bước hội thoại), kept in the database, not in process memory."""

    id = fields.IntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    user_id = fields.CharField(max_length=128)
    step = fields.CharField(max_length=64)
    data = fields.JSONField(default=dict)
    version = fields.IntField(default=0)
    updated_at = UtcDatetimeField(auto_now=True)

    class Meta:
        table = "conversation_state"
        unique_together = (("channel", "user_id"),)


class KeyValue(Model):
    """Small persisted settings, e.g. the Zalo token pair."""

    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.JSONField()
    updated_at = UtcDatetimeField(auto_now=True)

    class Meta:
        table = "key_value"


class WebchatMessage(Model):
    """A message the bot sent to a web chat session, kept until read (survives restarts)."""

    id = fields.BigIntField(primary_key=True)
    session = fields.CharField(max_length=64)
    seq = fields.IntField()
    item = fields.JSONField()
    file_id = fields.CharField(max_length=32, null=True)
    file_path = fields.CharField(max_length=255, default="")
    mime_type = fields.CharField(max_length=64, default="")
    filename = fields.CharField(max_length=120, default="")
    created_at = UtcDatetimeField(auto_now_add=True)
    delivery_key = fields.CharField(max_length=200, null=True, unique=True)  # outbox row + address + index

    class Meta:
        table = "webchat_message"
        unique_together = (("session", "seq"),)


class WebchatSession(Model):
    """A web chat session, issued by the server only (never an id the client chose).

    ``user_key`` is the engine's user id and stays while the cookie's token rotates; the
    previous token still works for a few seconds, for the page's requests already in flight.
    """

    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    previous_hash = fields.CharField(max_length=64, null=True, db_index=True)
    rotated_at = UtcDatetimeField(null=True)
    user_key = fields.CharField(max_length=64, unique=True)
    kiosk = fields.BooleanField(default=False)
    created_at = UtcDatetimeField()
    last_seen_at = UtcDatetimeField()
    expires_at = UtcDatetimeField(db_index=True)
    ended_at = UtcDatetimeField(null=True)

    class Meta:
        table = "webchat_session"


class InboundUpdate(Model):
    """An update a channel received (the inbox), stored before the channel is answered.

    A worker claims it with a lease and handles it; ``handled_at`` is set in the same
    transaction as the conversation state and the replies, so a crash at any point leaves
    it to be handled again, once.
    """

    id = fields.BigIntField(primary_key=True)
    channel = fields.CharField(max_length=16)
    event_id = fields.CharField(max_length=128)
    user_id = fields.CharField(max_length=128)
    payload = fields.JSONField()
    received_at = UtcDatetimeField()
    claimed_until = UtcDatetimeField(null=True)
    attempts = fields.IntField(default=0)
    handled_at = UtcDatetimeField(null=True, db_index=True)

    class Meta:
        table = "inbound_update"
        unique_together = (("channel", "event_id"),)


class IdempotencyRecord(Model):
    """The first result of a use case run for one chat event: a retried turn reuses it."""

    key = fields.CharField(max_length=200, primary_key=True)
    result = fields.JSONField()
    created_at = UtcDatetimeField()

    class Meta:
        table = "idempotency_record"
