"""The wall tells the truth about the source and the connection, and recovers by itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_server import Server, append_lines, replay_env, stream_line

pytestmark = pytest.mark.browser


def test_the_status_line_says_the_source_is_down_then_live_again_after_a_restart(tmp_path: Path, page: Any) -> None:
    replay_file = tmp_path / "not-there-yet.jsonl"
    env = replay_env(replay_file, tmp_path / "instance")
    server = Server(env, tmp_path)
    try:
        page.goto(f"{server.url}/results/%23nyc")
        status = page.locator("#live-status")
        expect(status).to_have_text("The replay file is down")
        expect(status).to_have_class("live-status is-down")
        expect(page.locator("#source-banner")).to_be_visible()
        expect(page.locator("#source-banner")).to_contain_text("cannot open REPLAY_FILE")
        expect(page.locator("#empty")).to_contain_text("Watching #nyc since")  # never a blank page

        server.stop()
        expect(status).to_contain_text("Connection to TwitterStream lost")
        append_lines(replay_file, stream_line(1001, "back in business #nyc", 1))
        server = Server(env, tmp_path, port=server.port)  # same address: the open page reconnects by itself

        expect(status).to_have_text("Live")
        expect(status).to_have_class("live-status is-live")
        expect(page.locator("#source-banner")).to_be_hidden()
        expect(page.locator("#source-state")).to_contain_text("connected")
        expect(page.locator('#posts .post[data-id="1001"]')).to_contain_text("back in business #nyc")
        expect(page.locator("#empty")).to_be_hidden()
    finally:
        server.stop()
    assert page.problems.dialogs == []
    unexpected = [e for e in page.problems.errors if "/api/v1/stream" not in e and "ERR_CONNECTION_REFUSED" not in e]
    assert unexpected == []


def test_a_post_published_while_the_server_restarts_is_not_missed(tmp_path: Path, page: Any) -> None:
    replay_file = tmp_path / "capture.jsonl"
    append_lines(replay_file, *(stream_line(1000 + n, f"post {n} #nyc", n) for n in range(1, 4)))
    env = replay_env(replay_file, tmp_path / "instance")
    server = Server(env, tmp_path)
    try:
        page.goto(f"{server.url}/results/%23nyc")
        expect(page.locator("#posts .post")).to_have_count(3)
        expect(page.locator("#live-status")).to_have_text("Live")
        server.stop()
        expect(page.locator("#live-status")).to_contain_text("reconnecting")
        append_lines(replay_file, stream_line(1004, "post 4 #nyc", 4), stream_line(1005, "post 5 #nyc", 5))
        server = Server(env, tmp_path, port=server.port)
        expect(page.locator("#posts .post")).to_have_count(5)
        ids = page.eval_on_selector_all("#posts .post", "els => els.map(e => e.dataset.id)")
        assert ids == ["1005", "1004", "1003", "1002", "1001"]  # each once, in order
        expect(page.locator("#live-status")).to_have_text("Live")
    finally:
        server.stop()
