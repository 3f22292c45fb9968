"""Take the README's screenshots from the bundled demo, so that they always show the wall as it is.

Run: make screenshots   (or .venv/bin/python scripts/screenshots.py [OUTPUT_FOLDER])

Starts `twitterstream serve` on the replay source (the bundled demo capture, replayed at once into a
temporary instance folder), opens each page in Debian's Chromium through Playwright, waits until its cards
are drawn and writes one PNG a page to docs/screenshots/. No network: the demo's pictures are served by
the app itself.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Queue

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
_LISTENING = re.compile(r"(?:listening on|Listening at:) (http://[\d.]+:\d+)")


@dataclass(frozen=True)
class Shot:
    """One screenshot: the page's path, the viewport and what to wait for before taking it."""

    name: str
    path: str
    width: int
    height: int
    cards: str  # CSS selector of the cards that must be drawn
    count: int  # how many of them


SHOTS = (
    Shot("results", "/results/%23nyc", 1440, 1000, "article.post", 10),
    Shot("screen", "/results/%23nyc?view=screen&theme=dark", 1920, 1080, "article.post", 10),
    Shot("columns", "/columns?q=%23nyc&q=%23travel&q=%23space", 1920, 1080, "article.post", 15),
)


@contextmanager
def demo_server(instance: Path) -> Iterator[str]:
    """``twitterstream serve`` replaying the demo capture at once; yields its base URL."""
    env = {
        **os.environ,
        "TWITTERSTREAM_SOURCE": "replay",
        "REPLAY_RATE": "0",
        "TWITTERSTREAM_INSTANCE_PATH": str(instance),
        "SECRET_KEY": "screenshots",
        "TWITTERSTREAM_PUBLIC_URL": "https://wall.example.org",  # what the screen's QR code and address show
        "LOG_LEVEL": "INFO",  # the "listening on" line is at INFO
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "twitterstream", "serve", "--host", "127.0.0.1", "--port", "0"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    address: Queue[str] = Queue()

    def read_log() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            if match := _LISTENING.search(line):
                address.put(match.group(1))
        address.put("")

    threading.Thread(target=read_log, daemon=True).start()
    try:
        url = address.get(timeout=60)
        if not url:
            raise SystemExit("twitterstream serve did not start")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def take(page: Page, base_url: str, shot: Shot, output: Path) -> Path:
    """Open the shot's page, wait for its cards and pictures, write ``<name>.png``."""
    page.set_viewport_size({"width": shot.width, "height": shot.height})
    page.goto(base_url + shot.path)
    page.wait_for_function(
        "([selector, count]) => document.querySelectorAll(selector).length >= count",
        arg=[shot.cards, shot.count],
        timeout=30_000,
    )
    page.wait_for_load_state("networkidle")
    # Pictures below the fold load lazily, so never on a screen view that does not scroll: only those in sight.
    page.wait_for_function(
        "() => [...document.images].every((image) => image.complete || image.getBoundingClientRect().top > innerHeight)"
    )
    target = output / f"{shot.name}.png"
    page.screenshot(path=str(target))
    return target


def main(argv: list[str]) -> int:
    output = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUTPUT
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as instance, demo_server(Path(instance)) as base_url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            # Links to the services would reach out; nothing here may wait on the network.
            page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
            for shot in SHOTS:
                print(take(page, base_url, shot, output))
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
