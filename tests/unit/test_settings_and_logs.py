"""Settings that the app cannot use, secrets masked by the real logging set-up, and trusted proxies."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson
import pytest
from flask import request

from twitterstream import create_app
from twitterstream.config import ConfigError, Settings, load_settings, secret_values
from twitterstream.logs import configure_logging

TOKEN = "AAAAAAAAAAAAAAAAAAAAAsecret-bearer-token-1234567890"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"TWITTERSTREAM_SOURCE": "myspace"}, "TWITTERSTREAM_SOURCE"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"DATABASE_URL": "postgres://db/ts"}, "DATABASE_URL"),
        ({"BLUESKY_SHOW_ADULT": "maybe"}, "BLUESKY_SHOW_ADULT"),
        ({"REPLAY_RATE": "fast"}, "REPLAY_RATE"),
        ({"REPLAY_RATE": "-1"}, "REPLAY_RATE"),
        ({"TWITTERSTREAM_WATCH_GRACE": "soon"}, "TWITTERSTREAM_WATCH_GRACE"),
        ({"TWITTERSTREAM_EMBEDS": "iframes"}, "TWITTERSTREAM_EMBEDS"),
        ({"MASTODON_MEDIA_HOSTS": "files.example.social"}, "MASTODON_MEDIA_HOSTS"),
        ({"MASTODON_MEDIA_HOSTS": "https://files.example.social/media"}, "MASTODON_MEDIA_HOSTS"),
    ],
)
def test_a_setting_the_app_cannot_use_is_refused_by_name(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(environ, env_file=None)
    assert named in str(refused.value)


def test_the_env_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("TWITTERSTREAM_SOURCE=replay\nREPLAY_RATE=7\n")
    settings = load_settings({"REPLAY_RATE": "9"}, env_file=env_file)
    assert settings.source == "replay"
    assert settings.replay_rate == 9


def test_cards_are_the_default_and_mastodon_media_hosts_are_origins() -> None:
    assert load_settings({}, env_file=None).embeds == "card"
    assert load_settings({"TWITTERSTREAM_EMBEDS": "Original"}, env_file=None).embeds == "original"
    hosts = load_settings(
        {"MASTODON_MEDIA_HOSTS": " https://files.example.social/, http://127.0.0.1:8081"}, env_file=None
    )
    assert hosts.mastodon_media_hosts == ("https://files.example.social", "http://127.0.0.1:8081")


def test_the_source_defaults_to_x_with_a_token_and_bluesky_without() -> None:
    assert load_settings({"X_BEARER_TOKEN": TOKEN}, env_file=None).source == "x"
    assert load_settings({}, env_file=None).source == "bluesky"
    assert TOKEN not in repr(load_settings({"X_BEARER_TOKEN": TOKEN}, env_file=None))


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_secrets_never_reach_the_log_output(fmt: str, root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    settings = load_settings({"X_BEARER_TOKEN": TOKEN, "SECRET_KEY": "flask-secret-value"}, env_file=None)
    configure_logging("INFO", fmt, secret_values(settings))
    log = logging.getLogger("twitterstream.test")
    log.info("token in the message: %s", TOKEN)
    log.warning(f"token formatted in: Bearer {TOKEN}")
    try:
        raise RuntimeError(f"the service refused {TOKEN} and flask-secret-value")
    except RuntimeError:
        log.exception("a traceback that holds the token")
    out = capsys.readouterr().out
    assert TOKEN not in out
    assert "flask-secret-value" not in out
    assert out.count("***") >= 4
    assert "a traceback that holds the token" in out
    if fmt == "json":
        entries = [orjson.loads(line) for line in out.splitlines()]
        assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR"]
        assert "RuntimeError: the service refused *** and ***" in entries[2]["exception"]


@contextmanager
def _client_view(trusted_proxies: int, tmp_path: Path) -> Iterator[dict[str, str]]:
    settings = Settings(source="replay", trusted_proxies=trusted_proxies)
    app = create_app({"SETTINGS": settings, "INSTANCE_PATH": str(tmp_path), "TESTING": True})

    @app.get("/whoami")
    def whoami() -> dict[str, str]:
        return {"addr": request.remote_addr or "", "scheme": request.scheme, "host": request.host}

    try:
        client = app.test_client()
        headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.test"}
        answer = client.get("/whoami", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"})
        yield answer.get_json()
    finally:
        app.extensions["hub"].stop()
        app.extensions["store"].close()


def test_forwarded_headers_are_ignored_without_trusted_proxies(tmp_path: Path) -> None:
    with _client_view(0, tmp_path) as seen:
        assert seen == {"addr": "10.0.0.2", "scheme": "http", "host": "localhost"}


def test_a_trusted_proxy_gives_the_client_address_and_scheme_but_not_the_host(tmp_path: Path) -> None:
    with _client_view(1, tmp_path) as seen:
        # Neither the ALB nor the bundled nginx sets X-Forwarded-Host: a client's own value is never believed.
        assert seen == {"addr": "203.0.113.9", "scheme": "https", "host": "localhost"}


def test_an_empty_environment_gives_exactly_the_documented_defaults() -> None:
    # Each default is written once, on the Settings field: what load_settings falls back to is that value.
    assert load_settings({}, env_file=None) == Settings()
