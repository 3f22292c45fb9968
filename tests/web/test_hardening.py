"""Web hardening in the app itself: bodies, numbers, odd bytes, cookies, HSTS, /metrics access, /readyz wording."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from harness import Harness, running_app
from twitterstream import create_app
from twitterstream.config import ConfigError, Secret, Settings, load_settings
from twitterstream.store import StoreUnavailable
from twitterstream.store.sqlite import SQLiteStore
from twitterstream.web import ops


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        yield harness


def make_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    """The app with CSRF on (the session cookie carries its token)."""
    app = create_app({"SETTINGS": settings, "INSTANCE_PATH": str(tmp_path), "TESTING": True})
    yield app
    app.extensions["hub"].stop()
    app.extensions["store"].close()


@pytest.fixture
def csrf_app(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    yield from make_app(settings, tmp_path)


class UnreadableBody(io.RawIOBase):
    """A request body that must not be read."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        raise AssertionError("the body was read")


# --- 5. Bodies and odd characters ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/api/v1/results?q=cats", "/results/cats", "/metrics"])
def test_a_declared_body_over_the_limit_is_refused_with_413_before_it_is_read(site: Harness, path: str) -> None:
    answer = site.client.post(
        path,
        environ_overrides={
            "CONTENT_LENGTH": str(50 * 1024 * 1024),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "wsgi.input": UnreadableBody(),
        },
    )
    assert answer.status_code == 413
    assert "over 16 kB" in answer.get_data(as_text=True)


def test_a_chunked_body_over_the_limit_is_refused_with_413(site: Harness) -> None:
    body = b"query=" + b"x" * (20 * 1024)
    answer = site.client.post(
        "/",
        environ_overrides={
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,  # what gevent and gunicorn say for a chunked body
        },
    )
    assert answer.status_code == 413


def test_a_form_within_the_limit_still_works(site: Harness) -> None:
    query = "é" * 1019 + " cats"  # the longest query, 12 kB percent-encoded
    answer = site.client.post("/", data={"query": query})
    assert answer.status_code == 303


def test_a_refused_query_is_echoed_at_most_once_and_capped(site: Harness) -> None:
    query = "cats OR " + "x" * 15_000
    body = site.client.post("/", data={"query": query}).get_data(as_text=True)
    assert "limited to 1,024 characters" in body
    assert "x" * 1092 in body  # the form keeps what fits its field (1,100 characters)
    assert "x" * 1093 not in body
    assert body.count("x" * 1000) == 1


@pytest.mark.parametrize("raw", ["²", "①", "٣", "1_0", " 7", "+5", "-1", "1e2", "0x10", "10" * 10, "", "101", "0"])
def test_numbers_are_read_strictly_everywhere(site: Harness, raw: str) -> None:
    for path in ("/api/v1/results", "/api/v1/stream"):
        answer = site.client.get(path, query_string={"q": "cats", "limit": raw})
        assert answer.status_code == 400, (path, raw)
        assert "limit must be a whole number from 1 to 100" in answer.get_json()["error"]["message"]
    page = site.client.get("/results/cats", query_string={"limit": raw})
    assert page.status_code == 400
    assert "limit must be a whole number from 1 to 100" in page.get_data(as_text=True)


def test_a_page_limit_that_is_not_a_choice_shows_the_default(site: Harness) -> None:
    assert site.client.get("/results/cats?limit=25").status_code == 200
    assert site.client.get("/results/cats?limit=7").status_code == 200


@pytest.mark.parametrize("path", ["/", "/results/cats", "/api/v1/results", "/api/v1/stream", "/healthz", "/nope"])
@pytest.mark.parametrize("query", [b"\xff", b"q=cats\xff", b"q=\xc3(&limit=5"])
def test_a_query_string_that_is_not_utf8_answers_400(site: Harness, path: str, query: bytes) -> None:
    answer = site.client.get(path, environ_overrides={"QUERY_STRING": query.decode("latin-1")})
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert "not UTF-8" in body
    assert "Traceback" not in body


def test_percent_encoded_bad_utf8_is_no_500_either(site: Harness) -> None:
    for path in ("/api/v1/results?q=cats%FF", "/results/cats%FF", "/results/cats?limit=%FF"):
        assert site.client.get(path).status_code in (200, 400), path


# --- 7. Cookies and headers -----------------------------------------------------------------------------------


def session_cookie(client: FlaskClient, **kwargs: object) -> str:
    answer = client.get("/", **kwargs)  # type: ignore[arg-type]
    cookies = [value for name, value in answer.headers if name == "Set-Cookie" and value.startswith("session=")]
    assert len(cookies) == 1, answer.headers
    return cookies[0]


def test_the_session_cookie_is_lax_and_http_only_and_not_secure_over_http(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    cookie = session_cookie(client)
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie
    assert "Secure" not in cookie
    assert "Strict-Transport-Security" not in client.get("/").headers


def test_over_https_the_cookie_is_secure_and_hsts_is_sent(csrf_app: Flask) -> None:
    client = csrf_app.test_client()
    cookie = session_cookie(client, base_url="https://wall.example")
    assert "Secure" in cookie and "SameSite=Lax" in cookie
    headers = client.get("/healthz", base_url="https://wall.example").headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_https_through_a_trusted_proxy_counts_and_through_an_untrusted_one_does_not(
    settings: Settings, tmp_path: Path
) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    for trusted, secure in ((1, True), (0, False)):
        for app in make_app(settings.with_overrides(trusted_proxies=trusted), tmp_path / str(trusted)):
            client = app.test_client()
            assert ("Secure" in session_cookie(client, headers=forwarded)) is secure
            assert ("Strict-Transport-Security" in client.get("/", headers=forwarded).headers) is secure


# --- 7. /metrics access ---------------------------------------------------------------------------------------


def metrics_status(client: FlaskClient, address: str, **headers: str) -> int:
    return client.get("/metrics", environ_overrides={"REMOTE_ADDR": address}, headers=headers).status_code


def test_metrics_by_default_serve_this_machine_and_private_networks_only(site: Harness) -> None:
    for address in ("127.0.0.1", "::1", "10.0.3.4", "172.20.0.5", "192.168.1.9", "::ffff:10.1.1.1"):
        assert metrics_status(site.client, address) == 200, address
    for address in ("203.0.113.5", "2001:db8::1", "::ffff:8.8.8.8"):
        assert metrics_status(site.client, address) == 403, address
    refused = site.client.get("/metrics", environ_overrides={"REMOTE_ADDR": "203.0.113.5"})
    assert "TWITTERSTREAM_METRICS_ALLOW" in refused.get_json()["error"]["message"]


def test_metrics_judge_the_client_address_the_trusted_proxy_reports(settings: Settings, tmp_path: Path) -> None:
    with running_app(settings.with_overrides(trusted_proxies=1), tmp_path, start_ingester=False) as site:
        # Through the load balancer (a private address), for a client on the internet: refused.
        assert metrics_status(site.client, "10.0.0.2", **{"X-Forwarded-For": "203.0.113.5"}) == 403
        assert metrics_status(site.client, "10.0.0.2", **{"X-Forwarded-For": "10.0.9.9"}) == 200


def test_metrics_can_want_a_bearer_token(settings: Settings, tmp_path: Path) -> None:
    token = "scrape-me-please"
    with running_app(settings.with_overrides(metrics_token=Secret(token)), tmp_path, start_ingester=False) as site:
        assert metrics_status(site.client, "127.0.0.1") == 401
        assert metrics_status(site.client, "127.0.0.1", Authorization="Bearer nope") == 401
        assert metrics_status(site.client, "127.0.0.1", Authorization="Bearer ünïcode") == 401
        assert metrics_status(site.client, "127.0.0.1", Authorization=f"Bearer {token}") == 200
        assert metrics_status(site.client, "203.0.113.5", Authorization=f"Bearer {token}") == 403
        answer = site.client.get("/metrics")
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
        assert token not in answer.get_data(as_text=True)


def test_the_metrics_settings_are_read_and_checked() -> None:
    settings = load_settings(
        {"TWITTERSTREAM_METRICS_ALLOW": "0.0.0.0/0, ::/0", "TWITTERSTREAM_METRICS_TOKEN": "t"}, None
    )
    assert [str(n) for n in settings.metrics_allow] == ["0.0.0.0/0", "::/0"]
    assert settings.metrics_token is not None and settings.metrics_token.reveal() == "t"
    with pytest.raises(ConfigError, match="TWITTERSTREAM_METRICS_ALLOW"):
        load_settings({"TWITTERSTREAM_METRICS_ALLOW": "10.0.0.0/8,intranet"}, None)


# --- 7. /readyz wording ---------------------------------------------------------------------------------------

STORE_URL = "redis://admin:hunter2@cache.internal.example:6379/0"


def test_readyz_never_shows_the_store_address_when_it_is_down(site: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    def down() -> None:
        raise StoreUnavailable("Redis does not answer: Error 111 connecting to cache.internal.example:6379.")

    monkeypatch.setattr(site.store, "ping", down)
    answer = site.client.get("/readyz")
    assert answer.status_code == 503
    body = answer.get_data(as_text=True)
    assert answer.get_json()["store"] == "unavailable: Redis does not answer: Error 111 connecting to (address hidden)."
    assert "cache.internal" not in body and "6379" not in body


def test_readyz_never_shows_the_store_address_in_the_source_reason(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reasons = [
        "the store does not answer: Redis does not answer: Error 111 connecting to 10.0.0.5:6379.",
        "the store does not answer: Error -2 connecting to cache.internal.example:6379. Name unknown",
        f"the ingester cannot reach {STORE_URL}",
        "the ingester lost cache.internal.example:6379 (admin, hunter2)",
    ]
    store = SQLiteStore(tmp_path / "store.sqlite3")  # the settings name a Redis that is never reached
    with running_app(
        settings.with_overrides(database_url=STORE_URL), tmp_path, start_ingester=False, store=store
    ) as site:
        for reason in reasons:
            monkeypatch.setattr(ops, "source_status", lambda app, r=reason: {"state": "unknown", "reason": r})
            answer = site.client.get("/readyz")
            assert answer.status_code == 200
            body = answer.get_data(as_text=True)
            for secret in ("hunter2", "admin", "cache.internal", "6379", "10.0.0.5"):
                assert secret not in body, (reason, body)
        # The source's own host is what an operator wants to read there.
        monkeypatch.setattr(ops, "source_status", lambda app: {"state": "connected", "reason": "Jetstream j.example"})
        assert site.client.get("/readyz").get_json()["source"]["reason"] == "Jetstream j.example"
