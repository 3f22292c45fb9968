"""The wall in a real browser: search, see the latest posts, watch new ones arrive, pause, keep more, stay safe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_server import PHONE, Server, append_lines, stream_line

pytestmark = pytest.mark.browser


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    """Twelve #nyc posts (ids 1001..1012, one second apart) and one about #paris."""
    path = tmp_path / "capture.jsonl"
    append_lines(
        path,
        *(stream_line(1000 + n, f"post number {n} about #nyc", n) for n in range(1, 13)),
        stream_line(2000, "something else #paris", 30),
    )
    return path


def post_ids(page: Any) -> list[str]:
    ids: list[str] = page.eval_on_selector_all("#posts .post", "els => els.map(e => e.dataset.id)")
    return ids


def open_wall(page: Any, server: Server, query: str = "%23nyc", count: int = 10) -> None:
    """Open a results page and wait until it shows ``count`` posts and its live stream is open."""
    page.goto(f"{server.url}/results/{query}")
    expect(page.locator("#posts .post")).to_have_count(count)
    expect(page.locator("#live-status")).to_contain_text("Live")


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


def test_pause_holds_new_posts_with_a_count_and_resume_shows_them_in_order_at_the_top(
    server: Server, page: Any, replay_file: Path
) -> None:
    open_wall(page, server)
    page.get_by_role("button", name="Pause").click()
    expect(page.get_by_role("button", name="Resume")).to_be_visible()

    append_lines(replay_file, *(stream_line(3000 + n, f"held post {n} #nyc", 40 + n) for n in (1, 2, 3)))
    waiting = page.locator("#new-posts")
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("3 new posts")
    assert post_ids(page) == [str(1000 + n) for n in range(12, 2, -1)]  # nothing moved while paused
    expect(page.locator("#announcer")).to_contain_text("3 new posts wait above.")  # said once, politely
    expect(page.locator("#announcer")).to_have_attribute("aria-live", "polite")

    page.get_by_role("button", name="Resume").click()
    expect(waiting).to_be_hidden()
    expect(page.locator("#posts .post").first).to_have_attribute("data-id", "3003")
    assert post_ids(page) == ["3003", "3002", "3001", *(str(1000 + n) for n in range(12, 5, -1))]  # still 10
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    assert page.problems.errors == []


def test_new_posts_wait_behind_a_button_while_the_reader_is_scrolled_down(
    server: Server, page: Any, replay_file: Path
) -> None:
    open_wall(page, server)
    page.set_viewport_size({"width": 800, "height": 400})
    reading = page.locator('#posts .post[data-id="1006"]')
    reading.scroll_into_view_if_needed()
    before = reading.bounding_box()

    append_lines(replay_file, stream_line(3000, "arrived while reading #nyc", 59))
    waiting = page.get_by_role("button", name=re.compile(r"1 new post"))
    expect(waiting).to_be_visible()  # the count floats over the list, in view
    assert reading.bounding_box() == before  # what the reader looks at has not moved
    assert "3000" not in post_ids(page)

    waiting.click()
    expect(page.locator("#posts .post").first).to_have_attribute("data-id", "3000")
    expect(waiting).to_be_hidden()
    expect(page.locator("#posts .post").first).to_be_in_viewport()


def test_show_25_keeps_more_posts_and_the_choice_survives_a_reload(
    server: Server, page: Any, replay_file: Path
) -> None:
    open_wall(page, server)
    page.get_by_role("button", name="25", exact=True).click()
    expect(page.locator("#posts .post")).to_have_count(12)  # every match there is, up to 25
    assert post_ids(page) == [str(1000 + n) for n in range(12, 0, -1)]
    expect(page.get_by_role("button", name="25", exact=True)).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_role("button", name="10", exact=True)).to_have_attribute("aria-pressed", "false")
    assert page.url.endswith("?limit=25")

    append_lines(replay_file, stream_line(3000, "one more #nyc", 59))
    expect(page.locator("#posts .post")).to_have_count(13)  # a new post no longer pushes one out

    page.reload()
    expect(page.locator("#posts .post")).to_have_count(13)
    expect(page.get_by_role("button", name="25", exact=True)).to_have_attribute("aria-pressed", "true")

    page.get_by_role("button", name="10", exact=True).click()
    expect(page.locator("#posts .post")).to_have_count(10)  # dropped at the bottom
    assert post_ids(page)[0] == "3000"
    assert page.problems.errors == []


def test_the_pace_shows_posts_per_minute_and_a_sparkline(server: Server, page: Any, replay_file: Path) -> None:
    open_wall(page, server)
    page.reload()  # the pace is read when the page opens: now that the twelve matches are stored
    expect(page.locator("#pace-count")).to_have_text("12/min")  # all twelve were matched just now
    expect(page.locator("#sparkline rect")).to_have_count(30)
    append_lines(replay_file, stream_line(3000, "one more #nyc", 59))
    expect(page.locator("#pace-count")).to_have_text("13/min")  # bumped by the arrival


@pytest.mark.parametrize("context_options", [{"color_scheme": "dark", "reduced_motion": "reduce"}])
def test_dark_mode_and_reduced_motion_follow_the_system(server: Server, page: Any, replay_file: Path) -> None:
    open_wall(page, server)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(21, 24, 28)"
    append_lines(replay_file, stream_line(3000, "calm arrival #nyc", 59))
    arrived = page.locator('#posts .post[data-id="3000"]')
    expect(arrived).to_be_visible()
    assert arrived.evaluate("e => getComputedStyle(e).animationName") == "none"
    assert page.locator("#live-status .dot").evaluate("e => getComputedStyle(e).animationName") == "none"


@pytest.mark.parametrize("context_options", [PHONE])
def test_a_phone_screen_has_no_horizontal_scroll(server: Server, page: Any, replay_file: Path) -> None:
    long_word = "averyveryveryveryveryveryveryverylongwordwithoutanyplacetobreak"
    query = f"%23nyc%20OR%20{long_word}"
    open_wall(page, server, query)
    append_lines(replay_file, stream_line(3000, f"#nyc https://example.com/{'x' * 150} {long_word * 3}", 59))
    expect(page.locator('#posts .post[data-id="3000"]')).to_be_visible()
    page.get_by_role("button", name="Pause").click()  # the toolbar in its other state too
    append_lines(replay_file, stream_line(3001, "held #nyc", 59))
    expect(page.locator("#new-posts")).to_be_visible()
    assert page_width(page) == (375, 375)
    assert page.problems.errors == []

    page.goto(server.url)
    page.fill("#query", f"({long_word} OR")
    page.keyboard.press("Enter")
    expect(page.locator("#query-error")).to_be_visible()
    page.get_by_text("How to write a query").click()
    expect(page.locator(".guide dl")).to_be_visible()
    assert page_width(page) == (375, 375)


def page_width(page: Any) -> tuple[int, int]:
    """(scroll width, visible width) of the page: equal when nothing sticks out sideways."""
    width: list[int] = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    return width[0], width[1]


def focused(page: Any) -> str:
    """The focused element, as a person would name it: its id, or its text."""
    name: str = page.evaluate(
        "(() => { const e = document.activeElement;"
        " return e === document.body ? 'body' : e.id || e.textContent.trim().replace(/\\s+/g, ' '); })()"
    )
    return name


def focus_walk(page: Any, until: str, key: str = "Tab", presses: int = 30) -> list[str]:
    """Press ``key`` until the focused element has the id ``until``; the names of what got focus on the way."""
    seen = []
    for _ in range(presses):
        page.keyboard.press(key)
        seen.append(focused(page))
        if seen[-1] == until:
            return seen
    raise AssertionError(f"{key} never reached {until}: {seen}")


def outline_width(page: Any) -> float:
    width: str = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    return float(width.removesuffix("px") or 0)


def test_the_keyboard_reaches_the_search_field_the_watch_button_and_pause(server: Server, page: Any) -> None:
    page.goto(server.url)
    expect(page.locator("#query")).to_be_focused()  # ready to type on arrival
    assert focus_walk(page, "Skip to content", key="Shift+Tab") == ["TwitterStream", "Skip to content"]
    assert outline_width(page) >= 2  # focus is visible
    assert focus_walk(page, "query") == ["TwitterStream", "query"]
    assert outline_width(page) >= 2
    page.keyboard.type("#nyc")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Watch")).to_be_focused()
    assert outline_width(page) >= 2
    page.keyboard.press("Enter")
    page.wait_for_url("**/results/%23nyc")
    expect(page.locator("#posts .post")).to_have_count(10)

    assert focus_walk(page, "pause")[:3] == ["Skip to content", "TwitterStream", "back"]
    assert outline_width(page) >= 2
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Resume")).to_be_focused()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Pause")).to_be_focused()
    assert focus_walk(page, "25", presses=3) == ["10", "25"]
    page.keyboard.press("Enter")
    expect(page.locator("#posts .post")).to_have_count(12)


HOSTILE_TEXT = "<script>alert(1)</script> <img src=x onerror=alert(2)> javascript:alert(3) #nyc"
HOSTILE_NAME = "<img src=x onerror=alert(4)>"


def test_markup_in_a_post_runs_no_script_and_reads_literally(server: Server, page: Any, replay_file: Path) -> None:
    open_wall(page, server)
    append_lines(replay_file, stream_line(4000, HOSTILE_TEXT, 59, name=HOSTILE_NAME))
    for how in ("arrived live", "rendered by the server"):
        card = page.locator('#posts .post[data-id="4000"]')
        expect(card.locator(".text"), how).to_have_text(HOSTILE_TEXT)
        expect(card.locator(".name"), how).to_have_text(HOSTILE_NAME)
        expect(page.locator("#posts img, #posts script, #posts iframe"), how).to_have_count(0)
        expect(page.locator('#posts a[href^="javascript"], #posts [onerror]'), how).to_have_count(0)
        page.reload()
    expect(page.locator("#live-status")).to_contain_text("Live")
    assert page.problems.dialogs == []
    assert page.problems.errors == []
