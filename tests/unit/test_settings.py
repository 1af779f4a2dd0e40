"""Settings are checked at start-up: every problem reported at once, each by its variable."""

from __future__ import annotations

import pytest

from backend import cli
from backend.settings import Settings, SettingsError

_PREFIXES = ("MOTCUA_", "TELEGRAM_", "ZALO_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path) -> pytest.MonkeyPatch:  # noqa: ANN001
    import os

    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MOTCUA_DATA_DIR", str(tmp_path / "var"))
    return monkeypatch


def problems(**env: str) -> list[str]:
    mp = pytest.MonkeyPatch()
    try:
        for k, v in env.items():
            mp.setenv(k, v)
        with pytest.raises(SettingsError) as caught:
            Settings.from_env(serving=True)
        return caught.value.problems
    finally:
        mp.undo()


def test_defaults_are_valid() -> None:
    s = Settings.from_env()
    assert s.environment == "development" and s.log_format == "text" and s.telegram.mode == "polling"


@pytest.mark.parametrize(("env", "named"), [
    ({"MOTCUA_PORT": "80a"}, "MOTCUA_PORT"),
    ({"MOTCUA_PORT": "70000"}, "MOTCUA_PORT"),
    ({"MOTCUA_OCR_WORKERS": "two"}, "MOTCUA_OCR_WORKERS"),
    ({"MOTCUA_RETAIN_CONVERSATION_DAYS": "30d"}, "MOTCUA_RETAIN_CONVERSATION_DAYS"),
    ({"TELEGRAM_MODE": "webhok"}, "TELEGRAM_MODE"),
    ({"TELEGRAM_HTTP": "requests"}, "TELEGRAM_HTTP"),
    ({"MOTCUA_ENV": "prod"}, "MOTCUA_ENV"),
    ({"MOTCUA_LOG_FORMAT": "xml"}, "MOTCUA_LOG_FORMAT"),
    ({"MOTCUA_SEED_DEMO": "maybe"}, "MOTCUA_SEED_DEMO"),
    ({"MOTCUA_PUBLIC_URL": "motcua.example.vn"}, "MOTCUA_PUBLIC_URL"),
    ({"MOTCUA_PUBLIC_URL": "ftp://motcua.example.vn"}, "MOTCUA_PUBLIC_URL"),
    ({"MOTCUA_TRUSTED_PROXIES": "10.0.0.1,nginx"}, "MOTCUA_TRUSTED_PROXIES"),
    ({"MOTCUA_KIOSK_ADDRESSES": "192.168.1.0/33"}, "MOTCUA_KIOSK_ADDRESSES"),
    ({"MOTCUA_DATABASE_URL": "mysql://db/motcua"}, "MOTCUA_DATABASE_URL"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "webhook", "MOTCUA_PUBLIC_URL": "https://a.vn"},
     "TELEGRAM_WEBHOOK_SECRET"),
    ({"TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": "s"},
     "MOTCUA_PUBLIC_URL"),
    ({"MOTCUA_ENV": "production", "MOTCUA_SECRET_KEY": "k", "MOTCUA_PUBLIC_URL": "http://motcua.example.vn"},
     "MOTCUA_PUBLIC_URL"),
    ({"MOTCUA_ENV": "production", "MOTCUA_PUBLIC_URL": "https://motcua.example.vn"}, "MOTCUA_SECRET_KEY"),
    ({"MOTCUA_ENV": "production", "MOTCUA_SECRET_KEY": "k", "MOTCUA_SEED_DEMO": "1"}, "MOTCUA_SEED_DEMO"),
])
def test_each_problem_is_named(env: dict[str, str], named: str) -> None:
    found = problems(**env)
    assert len(found) == 1 and found[0].startswith(f"{named}:"), found


def test_only_a_server_needs_the_secret_key_in_production() -> None:
    mp = pytest.MonkeyPatch()
    mp.setenv("MOTCUA_ENV", "production")
    try:
        assert Settings.from_env().production  # create-admin, migrate, purge
    finally:
        mp.undo()
    assert [p.split(":")[0] for p in problems(MOTCUA_ENV="production")] == ["MOTCUA_SECRET_KEY"]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(MOTCUA_PORT="x", TELEGRAM_MODE="webhok", MOTCUA_TRUSTED_PROXIES="proxy",
                     MOTCUA_ENV="staging", MOTCUA_DATABASE_URL="mongodb://x")
    assert [p.split(":")[0] for p in found] == [
        "MOTCUA_ENV", "MOTCUA_PORT", "MOTCUA_TRUSTED_PROXIES", "TELEGRAM_MODE", "MOTCUA_DATABASE_URL"]


def test_production_defaults_to_json_logs_and_accepts_a_sound_setup() -> None:
    mp = pytest.MonkeyPatch()
    for k, v in {"MOTCUA_ENV": "production", "MOTCUA_SECRET_KEY": "k" * 40,
                 "MOTCUA_PUBLIC_URL": "https://motcua.tayninh.gov.vn", "TELEGRAM_BOT_TOKEN": "1:x",
                 "TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": "s3cret",
                 "MOTCUA_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"}.items():
        mp.setenv(k, v)
    try:
        s = Settings.from_env()
    finally:
        mp.undo()
    assert s.log_format == "json" and s.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")


def test_serve_with_bad_settings_exits_2_naming_each(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TELEGRAM_MODE", "webhok")
    monkeypatch.setenv("MOTCUA_PORT", "eighty")
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("motcua: bad configuration:\n")
    assert "  TELEGRAM_MODE: must be one of polling, webhook, not 'webhok'" in err
    assert "  MOTCUA_PORT: must be a whole number, not 'eighty'" in err
