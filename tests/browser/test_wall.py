"""The wall in a real browser: search, see the latest posts, watch new ones arrive without a reload."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from browser_server import Server

pytestmark = pytest.mark.browser


def stream_line(post_id: int, text: str, seconds: int) -> bytes:
    """An X API v2 stream message, as the replay source reads it."""
    offset = 0
    hashtags = []
    for word in text.split(" "):
        if word.startswith("#"):
            hashtags.append({"start": offset, "end": offset + len(word), "tag": word[1:]})
        offset += len(word) + 1
    message = {
        "data": {
            "id": str(post_id),
            "text": text,
            "author_id": "7",
            "created_at": f"2026-11-01T12:{seconds // 60:02d}:{seconds % 60:02d}.000Z",
            "lang": "en",
            "entities": {"hashtags": hashtags} if hashtags else {},
        },
        "includes": {"users": [{"id": "7", "username": "wall_tester", "name": "Wall Tester"}]},
    }
    return orjson.dumps(message) + b"\n"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "capture.jsonl"
    with path.open("wb") as capture:
        for n in range(1, 13):
            capture.write(stream_line(1000 + n, f"post number {n} about #nyc", n))
        capture.write(stream_line(2000, "something else #paris", 30))
    return path


@pytest.fixture
def server(tmp_path: Path, replay_file: Path) -> Iterator[Server]:
    server = Server(
        {
            "TWITTERSTREAM_SOURCE": "replay",
            "REPLAY_FILE": str(replay_file),
            "REPLAY_RATE": "0",
            "TWITTERSTREAM_INSTANCE_PATH": str(tmp_path / "instance"),
            "SECRET_KEY": "browser-tests",
        },
        tmp_path,
    )
    yield server
    server.stop()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    page.route("https://platform.twitter.com/**", lambda route: route.abort())  # no network here
    page.route("https://embed.bsky.app/**", lambda route: route.abort())
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def test_search_lands_on_the_results_with_the_ten_latest_newest_first(server: Server, page: Any) -> None:
    page.goto(server.url)
    page.fill("#query", "#NYC")
    page.keyboard.press("Enter")
    page.wait_for_url("**/results/%23NYC")
    page.locator("#posts .post").nth(9).wait_for()
    ids = page.eval_on_selector_all("#posts .post", "els => els.map(e => e.dataset.id)")
    assert ids == [str(1000 + n) for n in range(12, 2, -1)]
    assert "post number 12 about #nyc" in page.inner_text("#posts .post:first-child")


def test_a_new_post_appears_on_the_open_page_without_a_reload(server: Server, page: Any, replay_file: Path) -> None:
    page.goto(f"{server.url}/results/%23nyc")
    page.locator("#posts .post").nth(9).wait_for()
    page.evaluate("window.__marker = 'same page'")
    with replay_file.open("ab") as capture:
        capture.write(stream_line(3000, "breaking news from #nyc", 59))
    page.wait_for_selector('#posts .post[data-id="3000"]', timeout=10_000)
    assert page.evaluate("window.__marker") == "same page"  # no reload happened
    assert page.eval_on_selector("#posts .post", "e => e.dataset.id") == "3000"
    assert page.dialogs == []
