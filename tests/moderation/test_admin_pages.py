"""The operator's pages: login form with CSRF, the session cookie, session use of the API, the audit page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Harness, running_app
from twitterstream.config import Secret, Settings

PASSWORD = "pässword with spaces"


@pytest.fixture
def harness(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings.with_overrides(admin_password=Secret(PASSWORD)), tmp_path, start_ingester=False) as h:
        h.app.config["WTF_CSRF_ENABLED"] = True
        yield h


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_login_with_csrf_sets_a_safe_session_cookie_and_opens_the_api(harness: Harness) -> None:
    client = harness.client
    form = client.get("/admin").get_data(as_text=True)
    assert 'type="password"' in form
    assert client.post("/admin/login", data={"password": PASSWORD}).status_code == 400  # no CSRF token
    answer = client.post("/admin/login", data={"password": PASSWORD, "csrf_token": token(form)})
    assert answer.status_code == 303
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain HTTP here
    assert PASSWORD not in cookie
    home = client.get("/admin").get_data(as_text=True)
    assert "Blocklist" in home
    assert client.get("/api/v1/admin/blocklist").status_code == 200  # the session works for the API
    assert client.put("/api/v1/admin/blocklist", json={"words": ["x"]}).status_code == 400  # changes need the token
    answer = client.put("/api/v1/admin/blocklist", json={"words": ["x"]}, headers={"X-CSRFToken": token(home)})
    assert answer.status_code == 200
    client.post("/admin/logout", data={"csrf_token": token(home)})
    assert client.get("/api/v1/admin/blocklist").status_code == 401


def test_the_session_cookie_is_secure_over_https(harness: Harness) -> None:
    client = harness.client
    form = client.get("/admin", base_url="https://localhost").get_data(as_text=True)
    answer = client.post(
        "/admin/login",
        data={"password": PASSWORD, "csrf_token": token(form)},
        base_url="https://localhost",
        headers={"Referer": "https://localhost/admin"},  # Flask-WTF checks it over HTTPS
    )
    assert answer.status_code == 303
    assert "Secure" in answer.headers["Set-Cookie"]


def test_a_wrong_password_is_refused_audited_and_limited(harness: Harness) -> None:
    client = harness.client
    for _ in range(5):
        form = client.get("/admin").get_data(as_text=True)
        answer = client.post("/admin/login", data={"password": "guess", "csrf_token": token(form)})
        assert answer.status_code == 401 and "not the operator password" in answer.get_data(as_text=True)
    form = client.get("/admin").get_data(as_text=True)
    answer = client.post("/admin/login", data={"password": PASSWORD, "csrf_token": token(form)})
    assert answer.status_code == 429
    entries = harness.store.audit_log()
    assert [e["action"] for e in entries] == ["login_failed"] * 5 and "guess" not in str(entries)


def test_the_audit_page_is_for_the_operator_only(harness: Harness) -> None:
    client = harness.client
    assert client.get("/admin/audit").status_code == 303
    form = client.get("/admin").get_data(as_text=True)
    client.post("/admin/login", data={"password": PASSWORD, "csrf_token": token(form)})
    harness.store.add_audit({"at": "2024-05-01T10:00:00.000Z", "action": "hide", "client": "1.2.3.4", "post": "x:<1>"})
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "hide" in page and "1.2.3.4" in page and "x:<1>" not in page  # escaped
