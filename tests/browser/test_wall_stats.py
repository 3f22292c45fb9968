"""The stats panel of a results page in a real browser: it counts what arrived, and follows new arrivals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_server import Server, append_lines, stream_line

pytestmark = pytest.mark.browser


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    """Five #nyc posts (one also #Pizza) and one about #paris."""
    path = tmp_path / "capture.jsonl"
    append_lines(
        path,
        *(stream_line(1000 + n, f"post {n} about #nyc", n) for n in range(1, 5)),
        stream_line(1005, "slice of #NYC #Pizza", 5),
        stream_line(2000, "something else #paris", 30),
    )
    return path


def test_the_panel_counts_the_last_hour_and_follows_new_posts(server: Server, page: Any, replay_file: Path) -> None:
    page.goto(f"{server.url}/results/%23nyc")
    expect(page.locator("#posts .post")).to_have_count(5)
    panel = page.locator("#stats")
    expect(panel).to_have_attribute("data-posts", "5")
    expect(page.locator("#stats-posts")).to_have_text("5")
    expect(page.locator("#stats-media")).to_have_text("0%")
    expect(page.locator("#stats-hashtags li")).to_have_text(["#nyc5", "#pizza1"])  # case-insensitive
    expect(page.locator("#stats-authors li")).to_have_text(["@wall_tester5"])
    expect(page.locator("#stats-languages li")).to_have_text(["en5"])
    expect(page.locator("#stats-bars .stats-bar")).to_have_count(60)
    last_bar = page.locator("#stats-bars .stats-bar").last
    assert last_bar.evaluate("e => e.getBoundingClientRect().height") > 0  # this minute's bar is drawn
    assert page.locator("#stats-bars .stats-bar").first.evaluate("e => e.getBoundingClientRect().height") == 0

    append_lines(replay_file, *(stream_line(3000 + n, f"more #Nyc news {n}", 40 + n) for n in (1, 2, 3)))
    expect(page.locator("#posts .post")).to_have_count(8)
    expect(page.locator("#stats-posts")).to_have_text("8")  # soon after the posts show, not after 10 s
    expect(page.locator("#stats-hashtags li").first).to_have_text("#nyc8")

    page.locator("#stats-hashtags a", has_text="#pizza").click()
    page.wait_for_url("**/results/%23pizza")
    expect(page.locator("#posts .post")).to_have_count(1)
    assert page.problems.errors == []
