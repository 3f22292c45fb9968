"""The columns page in Chromium: several queries side by side on one live stream, added and removed in the
page and kept in the address, each column paused on its own, bad queries refused in words."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from playwright.sync_api import expect

from browser_server import PHONE, WATCH_CSP, Server, append_lines, replay_env, stream_line

pytestmark = pytest.mark.browser

FOCUSED = "document.activeElement.getAttribute('aria-label') || document.activeElement.textContent.trim()"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    """Three #nyc posts (1001..1003), two #paris posts (2001, 2002) and one of both (3001)."""
    path = tmp_path / "capture.jsonl"
    append_lines(
        path,
        *(stream_line(1000 + n, f"nyc post {n} #nyc", n) for n in (1, 2, 3)),
        *(stream_line(2000 + n, f"paris post {n} #paris", 10 + n) for n in (1, 2)),
        stream_line(3001, "both cities #nyc #paris", 20),
    )
    return path


@pytest.fixture
def server(tmp_path: Path, replay_file: Path) -> Iterator[Server]:
    server = Server(replay_env(replay_file, tmp_path / "instance"), tmp_path)
    yield server
    server.stop()


def column(page: Any, key: str) -> Any:
    return page.get_by_role("region", name=key, exact=True)


def ids_in(page: Any, key: str) -> list[str]:
    ids: list[str] = column(page, key).locator(".post").evaluate_all("els => els.map(e => e.dataset.id)")
    return ids


def asked(page: Any) -> list[tuple[str, str]]:
    """The address's query parameters, in order."""
    return parse_qsl(urlsplit(page.url).query)


def open_columns(page: Any, server: Server, *queries: str) -> None:
    page.add_init_script(WATCH_CSP)
    page.goto(f"{server.url}/columns?" + "&".join(f"q={q}" for q in queries))
    expect(page.locator("#live-status")).to_contain_text("Live")


def test_posts_arrive_in_the_columns_of_the_queries_they_match(server: Server, page: Any, replay_file: Path) -> None:
    open_columns(page, server, "%23nyc", "%23paris")
    expect(column(page, "#nyc").locator(".post")).to_have_count(4)
    expect(column(page, "#paris").locator(".post")).to_have_count(3)
    assert ids_in(page, "#nyc") == ["3001", "1003", "1002", "1001"]  # newest first
    assert ids_in(page, "#paris") == ["3001", "2002", "2001"]

    append_lines(
        replay_file,
        stream_line(4001, "live from #paris", 40),
        stream_line(4002, "live from #nyc", 41),
        stream_line(4003, "live from #nyc and #paris", 42),
    )
    expect(column(page, "#nyc").locator(".post").first).to_have_attribute("data-id", "4003")
    expect(column(page, "#paris").locator(".post").first).to_have_attribute("data-id", "4003")
    assert ids_in(page, "#nyc")[:2] == ["4003", "4002"]
    assert ids_in(page, "#paris")[:2] == ["4003", "4001"]
    assert "live from #nyc and #paris" in column(page, "#paris").locator(".post").first.inner_text()
    assert page.problems.errors == [] and page.evaluate("window.cspViolations") == []


def test_adding_and_removing_columns_keeps_the_address_and_the_stream_in_step(
    server: Server, page: Any, replay_file: Path
) -> None:
    open_columns(page, server, "%23nyc")
    expect(column(page, "#nyc").locator(".post")).to_have_count(4)

    page.get_by_label("Add a column").fill("#Paris")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(column(page, "#paris")).to_be_visible()  # titled with the canonical form
    expect(column(page, "#paris").locator(".post")).to_have_count(3)
    assert asked(page) == [("q", "#nyc"), ("q", "#Paris")]
    assert page.title().startswith("#nyc · #paris")
    assert page.get_by_label("Add a column").input_value() == ""
    expect(page.locator("#announcer")).to_have_text("Column #paris added.")
    assert ids_in(page, "#nyc") == ["3001", "1003", "1002", "1001"]  # the column kept has no duplicates

    append_lines(replay_file, stream_line(4001, "after the change #nyc #paris", 40))
    expect(column(page, "#nyc").locator(".post").first).to_have_attribute("data-id", "4001")
    expect(column(page, "#paris").locator(".post").first).to_have_attribute("data-id", "4001")

    page.get_by_role("button", name="Remove #nyc").click()
    expect(column(page, "#nyc")).to_have_count(0)
    assert asked(page) == [("q", "#Paris")]
    expect(page.get_by_role("button", name="Remove #paris")).to_be_focused()  # focus is not lost
    append_lines(replay_file, stream_line(4002, "only paris now #paris #nyc", 41))
    expect(column(page, "#paris").locator(".post").first).to_have_attribute("data-id", "4002")

    page.reload()  # the address is the columns
    expect(column(page, "#paris").locator(".post")).to_have_count(5)
    expect(page.locator(".column")).to_have_count(1)
    assert page.problems.errors == []


def test_pausing_one_column_holds_its_arrivals_and_the_others_go_on(
    server: Server, page: Any, replay_file: Path
) -> None:
    open_columns(page, server, "%23nyc", "%23paris")
    expect(column(page, "#nyc").locator(".post")).to_have_count(4)
    nyc = column(page, "#nyc")
    nyc.get_by_role("button", name="Pause #nyc").click()
    expect(nyc.get_by_role("button", name="Resume #nyc")).to_be_visible()
    expect(page.locator("#live-status")).to_contain_text("1 column paused")

    append_lines(replay_file, stream_line(4001, "held in one #nyc #paris", 40), stream_line(4002, "more #nyc", 41))
    expect(column(page, "#paris").locator(".post").first).to_have_attribute("data-id", "4001")  # not paused
    waiting = nyc.get_by_role("button", name="Show 2 new posts in #nyc")
    expect(waiting).to_be_visible()
    expect(waiting).to_have_text("2 new")
    assert ids_in(page, "#nyc") == ["3001", "1003", "1002", "1001"]  # nothing moved while paused

    nyc.get_by_role("button", name="Resume #nyc").click()
    expect(nyc.locator(".post").first).to_have_attribute("data-id", "4002")
    assert ids_in(page, "#nyc")[:2] == ["4002", "4001"]
    expect(waiting).to_be_hidden()
    expect(nyc.get_by_role("button", name="Pause #nyc")).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Live")


def test_an_invalid_query_is_refused_inline_with_its_position(server: Server, page: Any) -> None:
    open_columns(page, server, "%23nyc")
    field = page.get_by_label("Add a column")
    field.fill("cats or dogs")
    field.press("Enter")
    error = page.locator("#add-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("(at position 6)")
    expect(error).to_have_attribute("role", "alert")
    expect(error.locator("mark")).to_have_text("o")
    expect(field).to_have_attribute("aria-invalid", "true")
    assert field.evaluate("f => [f.selectionStart, f.selectionEnd]") == [5, 6]  # the bad character selected
    expect(page.locator(".column")).to_have_count(1)
    assert asked(page) == [("q", "#nyc")]

    field.fill("#NYC")  # typing clears the error; the same query again is refused in words
    expect(error).to_be_hidden()
    field.press("Enter")
    expect(error).to_contain_text("Already a column: #nyc.")
    expect(page.locator(".column")).to_have_count(1)
    # Chromium logs the check's 400 as a failed resource load; nothing else went wrong
    assert [e for e in page.problems.errors if "status of 400" not in e] == []


def test_an_invalid_query_in_the_address_is_named_and_the_others_shown(server: Server, page: Any) -> None:
    page.goto(f"{server.url}/columns?q=%23nyc&q=(cats&q=%23paris")
    expect(page.locator("#add-error")).to_contain_text("(cats")
    expect(page.locator(".column")).to_have_count(2)
    expect(column(page, "#paris").locator(".post")).to_have_count(3)
    assert asked(page) == [("q", "#nyc"), ("q", "#paris")]  # the address keeps what is shown


def test_on_a_phone_the_columns_scroll_sideways_and_keyboard_reaches_every_control(
    server: Server, browser: Any
) -> None:
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/columns?q=%23nyc&q=%23paris&q=cats")
        expect(column(page, "#paris").locator(".post")).to_have_count(3)
        row = page.locator("#columns")
        assert row.evaluate("r => r.scrollWidth > r.clientWidth + 100")  # side by side, scrolled sideways
        assert row.evaluate("r => getComputedStyle(r).overflowX") == "auto"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375  # the page itself does not scroll sideways
        labels = []
        page.locator("#add-query").focus()
        while "Remove cats" not in labels and len(labels) < 100:  # every control, in reading order
            page.keyboard.press("Tab")
            labels.append(page.evaluate(FOCUSED))
        assert [label for label in labels if re.match(r"(Pause|Remove) ", label)] == [
            "Pause #nyc", "Remove #nyc", "Pause #paris", "Remove #paris", "Pause cats", "Remove cats",
        ]  # fmt: skip
        page.keyboard.press("Enter")  # on "Remove cats"
        expect(page.locator(".column")).to_have_count(2)
        assert page.evaluate(FOCUSED) == "Remove #paris"
    finally:
        context.close()


def test_with_six_columns_the_form_says_to_remove_one(server: Server, page: Any) -> None:
    open_columns(page, server, "%23nyc", "%23paris", "a", "b", "c", "d")
    field = page.get_by_label("Add a column")
    expect(field).to_be_disabled()
    expect(page.locator("#add-hint")).to_have_text("6 columns at most: remove one to add another.")
    page.get_by_role("button", name="Remove d").click()
    expect(field).to_be_enabled()


def test_add_to_columns_on_a_results_page_adds_the_query_to_the_columns_last_shown(server: Server, page: Any) -> None:
    open_columns(page, server, "%23nyc")
    page.goto(f"{server.url}/results/%23paris")
    link = page.get_by_role("link", name="Add to columns")
    expect(link).to_have_attribute("href", re.compile(r"^/columns\?q=%23nyc&q=%23paris$"))
    link.click()
    expect(page.locator(".column")).to_have_count(2)
    expect(column(page, "#paris").locator(".post")).to_have_count(3)
