"""The embeddable wall inside another site's iframe: it shows and follows the posts there, where the site is
allowed by TWITTERSTREAM_FRAME_ANCESTORS; the results page refuses the same iframe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_server import Server, append_lines, replay_env, stream_line
from harness import eventually

pytestmark = pytest.mark.browser


@pytest.fixture
def other_site() -> Iterator[ThreadingHTTPServer]:
    """Another origin (127.0.0.1 on its own port) whose page frames what ``/host?src=...`` names."""

    class Host(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            wall, results = self.server.frames  # type: ignore[attr-defined]
            body = (
                f'<!doctype html><title>host</title><iframe id="wall" src="{wall}"></iframe>'
                f'<iframe id="results" src="{results}"></iframe>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Host)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_an_allowed_site_shows_the_live_wall_and_not_the_results_page(
    tmp_path: Path, page: Any, other_site: ThreadingHTTPServer
) -> None:
    capture = tmp_path / "capture.jsonl"
    append_lines(capture, *(stream_line(1000 + n, f"post {n} about #nyc", n) for n in range(1, 4)))
    host = f"http://127.0.0.1:{other_site.server_address[1]}"
    env = {**replay_env(capture, tmp_path / "instance"), "TWITTERSTREAM_FRAME_ANCESTORS": host}
    server = Server(env, tmp_path)
    try:
        other_site.frames = (f"{server.url}/embed?q=%23nyc", f"{server.url}/results/%23nyc")  # type: ignore[attr-defined]
        page.goto(f"{host}/")
        wall = page.frame_locator("#wall")
        expect(wall.locator(".embed-post")).to_have_count(3)
        expect(wall.locator("#embed-live")).to_have_text("live")
        append_lines(capture, stream_line(2000, "fresh from #nyc", 30))
        expect(wall.locator(".embed-post").first).to_have_attribute("data-id", "2000")
        expect(wall.locator(".embed-post").first).to_contain_text("fresh from #nyc")
        # The results page refuses to be framed (frame-ancestors 'none'): Chromium shows its error page instead.
        blocked = "chrome-error://chromewebdata/"
        eventually(lambda: getattr(page.frame(name="results"), "url", "") == blocked, message="results page framed")
    finally:
        server.stop()
