"""The wall when X's monthly post cap nears and is reached: a warning, then a pause said in words, posts kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_server import Server, x_env
from fakes.x_api import FakeX

pytestmark = pytest.mark.browser


@pytest.fixture
def x_server(tmp_path: Path, fake_x: FakeX) -> Iterator[Server]:
    server = Server(x_env(fake_x, tmp_path / "instance", X_MONTHLY_POST_CAP="5"), tmp_path)
    yield server
    server.stop()


def test_the_wall_warns_at_80_percent_then_says_reading_is_paused_and_keeps_the_posts(
    x_server: Server, fake_x: FakeX, page: Any
) -> None:
    page.route(  # no network: X's widgets.js is an empty stand-in
        "https://platform.twitter.com/widgets.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=""),
    )
    page.goto(f"{x_server.url}/results/%23nyc")
    status = page.locator("#live-status")
    banner = page.locator("#source-banner")
    expect(status).to_have_text("Live")
    expect(banner).to_be_hidden()

    for n in range(4):
        fake_x.post(f"post {n} #nyc")
    expect(banner).to_have_text("X: 80% of the monthly post cap read (4 of 5).")
    expect(banner).to_have_class("banner banner-source banner-warning")
    expect(status).to_have_text("Live")

    fake_x.post("the last one #nyc")
    paused = "X reading is paused: the monthly post cap is reached (5 of 5); it resumes on "
    expect(status).to_contain_text(paused)
    expect(status).to_have_class("live-status is-paused")
    expect(banner).to_contain_text("Posts already stored are still shown.")
    expect(page.locator("#source-state")).to_have_class("source-state state-paused")
    expect(page.locator("#source-state .state-word")).to_have_text("paused")
    expect(page.locator("#posts .post")).to_have_count(5)
    assert fake_x.active_streams == 0

    page.reload()  # the page as first rendered by the server says the same
    expect(page.locator("#source-banner")).to_contain_text(paused)
    expect(page.locator("#live-status")).to_contain_text(paused)
    expect(page.locator("#posts .post")).to_have_count(5)
    assert page.problems.errors == []
