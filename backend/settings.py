"""One typed settings object, read from the environment by the app factory only."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _int(name: str, default: int) -> int:
    raw = _env(name)
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None


def _list(name: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in _env(name).split(",") if x.strip())


def _flag(name: str, default: bool) -> bool:
    raw = _env(name)
    return default if not raw else raw.lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class TelegramSettings:
    token: str
    api_base_url: str = "https://api.telegram.org/bot"
    file_base_url: str = "https://api.telegram.org/file/bot"
    mode: str = "polling"  # polling | webhook
    webhook_secret: str = ""
    http: str = "aiohttp"  # aiohttp | httpx (PTB's default transport)

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class ZaloSettings:
    app_id: str
    app_secret: str
    oa_secret_key: str  # the webhook's OA secret key, not the app secret
    refresh_token: str = ""
    access_token: str = ""
    api_base: str = "https://openapi.zalo.me"
    oauth_base: str = "https://oauth.zaloapp.com"
    buttons: bool = True  # the v3 button payload is unconfirmed: allow turning it off
    webhook_tolerance_minutes: int = 10  # a signed event older (or newer) than this is a replay

    @property
    def enabled(self) -> bool:
        return bool(self.app_id and self.app_secret and self.oa_secret_key)


@dataclass(frozen=True)
class WebchatSettings:
    """Web chat sessions: short by default, and shorter still at a shared kiosk."""

    idle_minutes: int = 30  # a session unused this long ends
    max_hours: int = 8  # and no session lives longer than this
    kiosk_idle_seconds: int = 120  # a kiosk page resets after this long without input
    kiosk_addresses: tuple[str, ...] = ()  # client addresses/networks that are always kiosks
    sessions_per_minute: int = 10  # new sessions per client address (bursts up to 3x)


@dataclass(frozen=True)
class RetentionSettings:
    """How long personal data is kept (Decree 13/2023/NĐ-CP: no longer than the purpose needs)."""

    closed_attachment_days: int = 30  # photos of papers after the dossier is closed or rejected
    orphan_attachment_days: int = 7  # photos never filed in a dossier
    conversation_days: int = 30  # chat states untouched this long
    webchat_days: int = 7  # web chat mailboxes
    interval_minutes: int = 60  # how often the purge runs


ENVIRONMENTS = ("development", "production")


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str = ""
    secret_key: str = ""
    exchange_token: str = ""
    seed_demo: bool = False  # only when asked: ./dev run asks, production never does
    environment: str = "development"  # development | production
    trusted_proxies: tuple[str, ...] = ()  # X-Forwarded-For is believed only from these
    ocr_workers: int = 1
    webchat: WebchatSettings = field(default_factory=WebchatSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    telegram: TelegramSettings = field(default_factory=lambda: TelegramSettings(token=""))
    zalo: ZaloSettings = field(default_factory=lambda: ZaloSettings("", "", ""))

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "files"

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        data_dir = Path(_env("MOTCUA_DATA_DIR", "var")).resolve()
        s = cls(
            database_url=_env("MOTCUA_DATABASE_URL", f"sqlite://{data_dir / 'motcua.sqlite3'}"),
            data_dir=data_dir,
            host=_env("MOTCUA_HOST", "127.0.0.1"),
            port=int(_env("MOTCUA_PORT", "8080")),
            public_url=_env("MOTCUA_PUBLIC_URL"),
            secret_key=_env("MOTCUA_SECRET_KEY"),
            exchange_token=_env("MOTCUA_EXCHANGE_TOKEN"),
            seed_demo=_flag("MOTCUA_SEED_DEMO", False),
            environment=_env("MOTCUA_ENV", "development").lower(),
            trusted_proxies=_list("MOTCUA_TRUSTED_PROXIES"),
            ocr_workers=int(_env("MOTCUA_OCR_WORKERS", "1")),
            webchat=WebchatSettings(
                idle_minutes=_int("MOTCUA_WEBCHAT_IDLE_MINUTES", 30),
                max_hours=_int("MOTCUA_WEBCHAT_MAX_HOURS", 8),
                kiosk_idle_seconds=_int("MOTCUA_KIOSK_IDLE_SECONDS", 120),
                kiosk_addresses=_list("MOTCUA_KIOSK_ADDRESSES"),
                sessions_per_minute=_int("MOTCUA_WEBCHAT_SESSIONS_PER_MINUTE", 10),
            ),
            retention=RetentionSettings(
                closed_attachment_days=_int("MOTCUA_RETAIN_CLOSED_ATTACHMENT_DAYS", 30),
                orphan_attachment_days=_int("MOTCUA_RETAIN_ORPHAN_ATTACHMENT_DAYS", 7),
                conversation_days=_int("MOTCUA_RETAIN_CONVERSATION_DAYS", 30),
                webchat_days=_int("MOTCUA_RETAIN_WEBCHAT_DAYS", 7),
                interval_minutes=_int("MOTCUA_RETENTION_INTERVAL_MINUTES", 60),
            ),
            telegram=TelegramSettings(
                token=_env("TELEGRAM_BOT_TOKEN"),
                api_base_url=_env("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"),
                file_base_url=_env("TELEGRAM_FILE_BASE_URL", "https://api.telegram.org/file/bot"),
                mode=_env("TELEGRAM_MODE", "polling"),
                webhook_secret=_env("TELEGRAM_WEBHOOK_SECRET"),
                http=_env("TELEGRAM_HTTP", "aiohttp"),
            ),
            zalo=ZaloSettings(
                app_id=_env("ZALO_APP_ID"),
                app_secret=_env("ZALO_APP_SECRET"),
                oa_secret_key=_env("ZALO_OA_SECRET_KEY"),
                refresh_token=_env("ZALO_REFRESH_TOKEN"),
                access_token=_env("ZALO_ACCESS_TOKEN"),
                api_base=_env("ZALO_API_BASE", "https://openapi.zalo.me"),
                oauth_base=_env("ZALO_OAUTH_BASE", "https://oauth.zaloapp.com"),
                buttons=_flag("ZALO_BUTTONS", True),
                webhook_tolerance_minutes=_int("ZALO_WEBHOOK_TOLERANCE_MINUTES", 10),
            ),
        )
        s = s.with_(**overrides) if overrides else s
        if s.environment not in ENVIRONMENTS:
            raise ValueError(f"MOTCUA_ENV must be one of {', '.join(ENVIRONMENTS)}, not {s.environment!r}")
        return s

    def with_(self, **changes: object) -> Settings:
        from dataclasses import replace

        return replace(self, **changes)  # type: ignore[arg-type]

    def session_secret(self) -> str:
        """The cookie-signing secret: from the environment, else one generated per data dir.

        Not a default: a random secret is made on first run and kept beside the database,
        so a laptop run works and no two installations share one.
        """
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
