"""One typed settings object, read from the environment by the app factory only."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """The environment holds bad settings: every problem, each naming its variable."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))


class _Env:
    """Reads variables and collects every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def text(self, name: str, default: str = "") -> str:
        return os.environ.get(name, default).strip()

    def number(self, name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
        raw = self.text(name)
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name}: must be a whole number, not {raw!r}")
            return default
        if value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.problems.append(f"{name}: must be {bounds}, not {value}")
            return default
        return value

    def items(self, name: str) -> tuple[str, ...]:
        return tuple(x.strip() for x in self.text(name).split(",") if x.strip())

    def networks(self, name: str) -> tuple[str, ...]:
        """Addresses or networks (10.0.0.1, 10.0.0.0/8, ::1); each bad entry is a problem."""
        items = self.items(name)
        for item in items:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                self.problems.append(f"{name}: {item!r} is not an IP address or network")
        return tuple(i for i in items if _is_network(i))

    def flag(self, name: str, default: bool) -> bool:
        raw = self.text(name).lower()
        if not raw:
            return default
        if raw in _TRUE or raw in _FALSE:
            return raw in _TRUE
        self.problems.append(f"{name}: must be one of 1/true/yes/on or 0/false/no/off, not {raw!r}")
        return default

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self.text(name, default).lower() or default
        if raw not in choices:
            self.problems.append(f"{name}: must be one of {', '.join(choices)}, not {raw!r}")
        return raw


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


def _is_network(item: str) -> bool:
    try:
        ipaddress.ip_network(item, strict=False)
    except ValueError:
        return False
    return True


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


@dataclass(frozen=True)
class StorageSettings:
    """Where files live: the local files directory, or an S3-compatible bucket shared by every host."""

    backend: str = "local"  # local | s3
    s3_endpoint: str = ""  # empty: AWS's own endpoint for the region
    s3_bucket: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = field(default="", repr=False)
    s3_addressing: str = "auto"  # auto | path | virtual (botocore's addressing_style)


STORAGE_BACKENDS = ("local", "s3")
S3_ADDRESSING = ("auto", "path", "virtual")
ROLES = ("all", "web", "worker")
ENVIRONMENTS = ("development", "production")
LOG_FORMATS = ("json", "text")
TELEGRAM_MODES = ("polling", "webhook")
TELEGRAM_HTTP = ("aiohttp", "httpx")


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
    inbox_lease_seconds: int = 15  # a crashed worker's update is taken up again this soon
    role: str = "all"  # all | web | worker (deploy/: several web workers and one worker)
    log_format: str = "text"  # json | text (MOTCUA_LOG_FORMAT; json by default in production)
    webchat: WebchatSettings = field(default_factory=WebchatSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    storage: StorageSettings = field(default_factory=StorageSettings)
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
    def from_env(cls, *, serving: bool = False, **overrides: object) -> Settings:
        """Read and check the environment; ``SettingsError`` lists every problem at once.

        ``serving``: also what only a server needs (a shared secret key in production)."""
        env = _Env()
        data_dir = Path(env.text("MOTCUA_DATA_DIR", "var")).resolve()
        environment = env.choice("MOTCUA_ENV", "development", ENVIRONMENTS)
        s = cls(
            database_url=env.text("MOTCUA_DATABASE_URL", f"sqlite://{data_dir / 'motcua.sqlite3'}"),
            data_dir=data_dir,
            host=env.text("MOTCUA_HOST", "127.0.0.1"),
            port=env.number("MOTCUA_PORT", 8080, low=0, high=65535),
            public_url=env.text("MOTCUA_PUBLIC_URL"),
            secret_key=env.text("MOTCUA_SECRET_KEY"),
            exchange_token=env.text("MOTCUA_EXCHANGE_TOKEN"),
            seed_demo=env.flag("MOTCUA_SEED_DEMO", False),
            environment=environment,
            trusted_proxies=env.networks("MOTCUA_TRUSTED_PROXIES"),
            ocr_workers=env.number("MOTCUA_OCR_WORKERS", 1),
            inbox_lease_seconds=env.number("MOTCUA_INBOX_LEASE_SECONDS", 15, low=1),
            role=env.choice("MOTCUA_ROLE", "all", ROLES),
            log_format=env.choice("MOTCUA_LOG_FORMAT", "json" if environment == "production" else "text",
                                  LOG_FORMATS),
            webchat=WebchatSettings(
                idle_minutes=env.number("MOTCUA_WEBCHAT_IDLE_MINUTES", 30, low=1),
                max_hours=env.number("MOTCUA_WEBCHAT_MAX_HOURS", 8, low=1),
                kiosk_idle_seconds=env.number("MOTCUA_KIOSK_IDLE_SECONDS", 120, low=1),
                kiosk_addresses=env.networks("MOTCUA_KIOSK_ADDRESSES"),
                sessions_per_minute=env.number("MOTCUA_WEBCHAT_SESSIONS_PER_MINUTE", 10, low=1),
            ),
            retention=RetentionSettings(
                closed_attachment_days=env.number("MOTCUA_RETAIN_CLOSED_ATTACHMENT_DAYS", 30),
                orphan_attachment_days=env.number("MOTCUA_RETAIN_ORPHAN_ATTACHMENT_DAYS", 7),
                conversation_days=env.number("MOTCUA_RETAIN_CONVERSATION_DAYS", 30),
                webchat_days=env.number("MOTCUA_RETAIN_WEBCHAT_DAYS", 7),
                interval_minutes=env.number("MOTCUA_RETENTION_INTERVAL_MINUTES", 60),
            ),
            storage=StorageSettings(
                backend=env.choice("MOTCUA_STORAGE", "local", STORAGE_BACKENDS),
                s3_endpoint=env.text("MOTCUA_S3_ENDPOINT"),
                s3_bucket=env.text("MOTCUA_S3_BUCKET"),
                s3_region=env.text("MOTCUA_S3_REGION", "us-east-1"),
                s3_access_key=env.text("MOTCUA_S3_ACCESS_KEY"),
                s3_secret_key=env.text("MOTCUA_S3_SECRET_KEY"),
                s3_addressing=env.choice("MOTCUA_S3_ADDRESSING", "auto", S3_ADDRESSING),
            ),
            telegram=TelegramSettings(
                token=env.text("TELEGRAM_BOT_TOKEN"),
                api_base_url=env.text("TELEGRAM_API_BASE_URL", "https://api.telegram.org/bot"),
                file_base_url=env.text("TELEGRAM_FILE_BASE_URL", "https://api.telegram.org/file/bot"),
                mode=env.choice("TELEGRAM_MODE", "polling", TELEGRAM_MODES),
                webhook_secret=env.text("TELEGRAM_WEBHOOK_SECRET"),
                http=env.choice("TELEGRAM_HTTP", "aiohttp", TELEGRAM_HTTP),
            ),
            zalo=ZaloSettings(
                app_id=env.text("ZALO_APP_ID"),
                app_secret=env.text("ZALO_APP_SECRET"),
                oa_secret_key=env.text("ZALO_OA_SECRET_KEY"),
                refresh_token=env.text("ZALO_REFRESH_TOKEN"),
                access_token=env.text("ZALO_ACCESS_TOKEN"),
                api_base=env.text("ZALO_API_BASE", "https://openapi.zalo.me"),
                oauth_base=env.text("ZALO_OAUTH_BASE", "https://oauth.zaloapp.com"),
                buttons=env.flag("ZALO_BUTTONS", True),
                webhook_tolerance_minutes=env.number("ZALO_WEBHOOK_TOLERANCE_MINUTES", 10, low=1),
            ),
        )
        s = s.with_(**overrides) if overrides else s
        problems = env.problems + s.problems(serving=serving)
        if problems:
            raise SettingsError(problems)
        return s

    def problems(self, *, serving: bool = False) -> list[str]:
        """What is wrong across settings (each value alone was readable), by variable name."""
        out: list[str] = []
        if not self.database_url.startswith(("sqlite://", "postgres://", "postgresql://")):
            out.append(f"MOTCUA_DATABASE_URL: must start with sqlite:// or postgres://, "
                       f"not {self.database_url.split('://', 1)[0]!r}")
        public = urlsplit(self.public_url) if self.public_url else None
        if public is not None and (public.scheme not in ("http", "https") or not public.hostname
                                   or public.query or public.fragment):
            out.append(f"MOTCUA_PUBLIC_URL: must be http(s)://host[:port][/path], not {self.public_url!r}")
            public = None
        tg = self.telegram
        if tg.enabled and tg.mode == "webhook":
            if not tg.webhook_secret:
                out.append("TELEGRAM_WEBHOOK_SECRET: needed with TELEGRAM_MODE=webhook "
                           "(Telegram's calls are checked against it)")
            if not self.public_url:
                out.append("MOTCUA_PUBLIC_URL: needed with TELEGRAM_MODE=webhook (the webhook is registered there)")
        out += self.storage_problems()
        if self.production:
            if public is not None and public.scheme != "https" and public.hostname not in _LOOPBACK:
                out.append("MOTCUA_PUBLIC_URL: must be https:// in production (session cookies are Secure)")
            if self.seed_demo:
                out.append("MOTCUA_SEED_DEMO: demo data is for development; unset it in production")
            if serving and not self.secret_key:
                out.append("MOTCUA_SECRET_KEY: needed in production (every worker must sign sessions alike)")
        return out

    def storage_problems(self) -> list[str]:
        """MOTCUA_STORAGE=s3 needs a bucket and its keys; an endpoint must be an http(s) URL."""
        st, out = self.storage, []
        if st.backend != "s3":
            return out
        for name, value in (("MOTCUA_S3_BUCKET", st.s3_bucket), ("MOTCUA_S3_ACCESS_KEY", st.s3_access_key),
                            ("MOTCUA_S3_SECRET_KEY", st.s3_secret_key)):
            if not value:
                out.append(f"{name}: needed with MOTCUA_STORAGE=s3")
        if st.s3_endpoint:
            ep = urlsplit(st.s3_endpoint)
            if ep.scheme not in ("http", "https") or not ep.hostname:
                out.append(f"MOTCUA_S3_ENDPOINT: must be http(s)://host[:port], not {st.s3_endpoint!r}")
        return out

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
