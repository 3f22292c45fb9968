"""In Chromium, with TWITTERSTREAM_SHOW_SENSITIVE=true: a sensitive post waits behind its content warning,
whether the page drew it or it arrived live, and one press of the button shows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import expect

from browser_server import Server, append_lines, stream_line

pytestmark = pytest.mark.browser


def sensitive_line(post_id: int, text: str, seconds: int) -> bytes:
    message = orjson.loads(stream_line(post_id, text, seconds))
    message["data"]["possibly_sensitive"] = True
    return orjson.dumps(message) + b"\n"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "capture.jsonl"
    append_lines(path, stream_line(1001, "plain #nyc", 1), sensitive_line(1002, "graphic #nyc", 2))
    return path


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"TWITTERSTREAM_SHOW_SENSITIVE": "true"}


def test_sensitive_posts_show_behind_their_warning_drawn_and_live(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/results/%23nyc")
    expect(page.locator("#posts .post")).to_have_count(2)
    expect(page.locator("#live-status")).to_contain_text("Live")
    drawn = page.locator('#posts .post[data-id="1002"]')
    expect(drawn.get_by_text("graphic #nyc")).to_be_hidden()
    warning = drawn.locator(".warning summary")
    expect(warning).to_contain_text("Possibly sensitive")
    warning.focus()
    page.keyboard.press("Enter")
    expect(drawn.get_by_text("graphic #nyc")).to_be_visible()
    expect(drawn.locator("details.warning")).to_have_attribute("open", "")

    append_lines(server.capture, sensitive_line(1003, "gory #nyc", 3))
    arrived = page.locator('#posts .post[data-id="1003"]')
    expect(arrived.locator(".warning summary")).to_contain_text("Possibly sensitive")
    expect(arrived.get_by_text("gory #nyc")).to_be_hidden()
    arrived.locator(".warning summary").click()
    expect(arrived.get_by_text("gory #nyc")).to_be_visible()
    expect(page.locator('#posts .post[data-id="1001"] .warning')).to_have_count(0)
    assert page.problems.errors == []


def test_the_embedded_wall_names_a_sensitive_post_by_its_warning_only(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/embed?q=%23nyc")
    expect(page.locator("#embed-posts .embed-post")).to_have_count(2)
    expect(page.locator("#embed-live")).to_have_text("live")
    drawn = page.locator('.embed-post[data-id="1002"]')
    expect(drawn).to_contain_text("Content warning: Possibly sensitive")
    expect(drawn).not_to_contain_text("graphic")
    append_lines(server.capture, sensitive_line(1003, "gory #nyc", 3))
    arrived = page.locator('.embed-post[data-id="1003"]')
    expect(arrived).to_contain_text("Content warning: Possibly sensitive")
    expect(arrived).not_to_contain_text("gory")
    expect(page.locator('.embed-post[data-id="1001"]')).to_contain_text("plain #nyc")
    assert page.problems.errors == []
