"""Browser tests: Playwright for Python driving Debian's Chromium against a real `twitterstream serve`."""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser_server import Server, replay_env

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless. Without it the browser tests fail (a skip would pass unnoticed)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            "Chromium is not installed, so the browser tests cannot run: install the Debian package chromium"
            " (`make test` does it as root or with password-less sudo: scripts/install-system-packages.sh)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProblems:
    """What a page did that no page of ours should: dialogs, uncaught errors, console errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.errors: list[str] = []

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")


#: A 4x4 blue PNG: what the services' picture hosts answer in these tests (there is no network here).
PICTURE = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGMQSd4MRwzEcQDakxKhPdnA2gAAAABJRU5ErkJggg=="
)
PICTURE_HOSTS = ("https://pbs.twimg.com/**", "https://cdn.bsky.app/**", "https://video.bsky.app/**")


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Options for the browser context (a test may override this fixture: viewport, colour scheme...)."""
    return {}


@pytest.fixture
def page(browser: Any, context_options: dict[str, Any]) -> Iterator[Any]:
    """A fresh page whose embed scripts cannot load (no network here); ``page.problems`` records misdeeds."""
    context = browser.new_context(**context_options)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.route("https://platform.twitter.com/**", lambda route: route.abort())
    page.route("https://embed.bsky.app/**", lambda route: route.abort())
    for host in PICTURE_HOSTS:
        page.route(host, lambda route: route.fulfill(status=200, content_type="image/png", body=PICTURE))
    problems = PageProblems()
    page.on("dialog", lambda dialog: (problems.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: problems.errors.append(f"uncaught: {error}"))
    page.on("console", problems.console)
    page.problems = problems
    page.dialogs = problems.dialogs
    yield page
    context.close()


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    """The capture ``server`` replays: empty here; a module overrides this fixture with its posts."""
    path = tmp_path / "capture.jsonl"
    path.touch()
    return path


@pytest.fixture
def server_env() -> dict[str, str]:
    """Settings of ``server`` besides replaying ``replay_file`` (a module may override this fixture)."""
    return {}


@pytest.fixture
def server(tmp_path: Path, replay_file: Path, server_env: dict[str, str]) -> Iterator[Server]:
    """``twitterstream serve`` replaying ``replay_file`` as fast as it can (``server.capture``: append to post)."""
    server = Server({**replay_env(replay_file, tmp_path / "instance"), **server_env}, tmp_path)
    server.capture = replay_file
    yield server
    server.stop()
