"""Browser tests: Playwright for Python driving Debian's Chromium against a real `twitterstream serve`."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

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
    if not Path(CHROMIUM).exists():
        message = "Chromium is not installed (apt-get install chromium; .ci/run does it): browser tests cannot run"
        if os.environ.get("CI"):
            pytest.fail(message)
        print(f"\n!!! SKIPPING BROWSER TESTS: {message} !!!", file=sys.stderr)
        pytest.skip(message)
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
    problems = PageProblems()
    page.on("dialog", lambda dialog: (problems.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: problems.errors.append(f"uncaught: {error}"))
    page.on("console", problems.console)
    page.problems = problems
    page.dialogs = problems.dialogs
    yield page
    context.close()
