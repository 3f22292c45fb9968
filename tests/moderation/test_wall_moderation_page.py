"""A wall's moderation page /admin/walls/<slug>: operator only, the queue server-rendered, the API it drives."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import Secret, Settings

PASSWORD = "moderation page password"
AUTH = {"Authorization": f"Bearer {PASSWORD}"}


@pytest.fixture
def harness(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings.with_overrides(admin_password=Secret(PASSWORD)), tmp_path, start_ingester=False) as h:
        h.app.config["WTF_CSRF_ENABLED"] = True
        yield h


def log_in(harness: Harness) -> str:
    form = harness.client.get("/admin").get_data(as_text=True)
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    assert found
    assert (
        harness.client.post("/admin/login", data={"password": PASSWORD, "csrf_token": found.group(1)}).status_code
        == 303
    )
    return found.group(1)


def make_wall(harness: Harness, approval: bool = True) -> None:
    body = {"title": "Cats <live>", "query": "cats", "approval": approval}
    assert harness.client.put("/api/v1/admin/walls/cats", json=body, headers=AUTH).status_code == 201


def test_strangers_are_sent_to_the_login(harness: Harness) -> None:
    make_wall(harness)
    answer = harness.client.get("/admin/walls/cats")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/admin")


def test_an_unknown_wall_is_404(harness: Harness) -> None:
    log_in(harness)
    assert harness.client.get("/admin/walls/nope").status_code == 404


def test_the_page_lists_the_queue_oldest_first_as_a_listbox_with_its_count_and_keys(harness: Harness) -> None:
    make_wall(harness)
    harness.store.save_post(make_post(1, "cats one <b>"), ["cats"])
    harness.store.save_post(make_post(2, "cats two", username="tabby"), ["cats"])
    log_in(harness)
    page = harness.client.get("/admin/walls/cats").get_data(as_text=True)
    assert "Moderate: Cats &lt;live&gt;" in page and "<b>" not in page
    assert 'role="listbox"' in page and 'aria-multiselectable="true"' in page
    assert page.index('data-id="1"') < page.index('data-id="2"')
    assert '<span id="waiting-count">2</span>' in page
    assert 'data-who="@tabby"' in page and "<kbd>j</kbd>" in page
    assert 'src="/static/moderate.js"' in page and "<script>" not in page and "style=" not in page
    assert 'data-api-url="/api/v1/admin"' in page
    assert 'data-stream-url="/api/v1/walls/cats/stream?limit=25"' in page
    home = harness.client.get("/admin").get_data(as_text=True)
    assert 'href="/admin/walls/cats"' in home


def test_a_wall_without_approval_has_an_empty_queue(harness: Harness) -> None:
    make_wall(harness, approval=False)
    harness.store.save_post(make_post(1, "cats"), ["cats"])
    log_in(harness)
    page = harness.client.get("/admin/walls/cats").get_data(as_text=True)
    assert "the queue stays empty" in page and '<span id="waiting-count">0</span>' in page
    queue = harness.client.get("/api/v1/admin/walls/cats/queue", headers=AUTH)
    assert queue.status_code == 200 and queue.get_json()["posts"] == []


def test_the_pages_csrf_token_lets_the_session_decide(harness: Harness) -> None:
    make_wall(harness)
    harness.store.save_post(make_post(1, "cats"), ["cats"])
    log_in(harness)
    page = harness.client.get("/admin/walls/cats").get_data(as_text=True)
    found = re.search(r'data-csrf="([^"]+)"', page)
    assert found
    url = "/api/v1/admin/walls/cats/posts/x/1/approve"
    assert harness.client.post(url).status_code == 400  # no token
    assert harness.client.post(url, headers={"X-CSRFToken": found.group(1)}).status_code == 200
    assert harness.client.get("/api/v1/admin/walls/cats/queue").get_json()["waiting"] == 0
