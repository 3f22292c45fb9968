"""In Chromium: a post id carrying an SSE event injects nothing, and the wall runs under its CSP untouched."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import expect

from browser_server import WATCH_CSP, Server, append_lines, stream_line
from fakes.hostile import SSE_INJECTION

pytestmark = pytest.mark.browser

# Every CSP violation the page meets, kept where the test can read it.


def hostile_line(post_id: str, seconds: int) -> bytes:
    message = orjson.loads(stream_line(1, "hostile-marker #nyc", seconds))
    message["data"]["id"] = post_id
    return orjson.dumps(message) + b"\n"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "capture.jsonl"
    append_lines(path, stream_line(1001, "first good post #nyc", 1))
    return path


def test_a_hostile_post_id_injects_nothing_into_an_open_wall(server: Server, page: Any) -> None:
    page.add_init_script(WATCH_CSP)
    page.goto(f"{server.url}/results/%23nyc")
    expect(page.locator("#posts .post")).to_have_count(1)
    expect(page.locator("#live-status")).to_contain_text("Live")

    append_lines(
        server.capture,
        hostile_line("1002" + SSE_INJECTION, 2),
        hostile_line("1003\r\nid: 1", 3),
        stream_line(1004, "second good post #nyc", 4),
    )
    expect(page.locator("#posts .post")).to_have_count(2)
    assert page.eval_on_selector_all("#posts .post", "els => els.map(e => e.dataset.id)") == ["1004", "1001"]
    assert "hostile-marker" not in page.content()
    assert page.locator("h1:has-text('owned'), img[src*='tracker.example'], #posts style").count() == 0
    assert page.evaluate("window.cspViolations") == []
    assert page.problems.errors == []
