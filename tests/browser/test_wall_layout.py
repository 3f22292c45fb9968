"""The results page's layout in Chromium: on a wide screen the posts are a readable column with the options
and the stats in a sidebar beside them, the first posts above the fold; on a phone or a tablet, one column."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import expect

from browser_server import Server, append_lines, stream_line

pytestmark = pytest.mark.browser

PASSWORD = "layout-operator-password"

#: The boxes a reader sees, by name: the header, the sidebar and its stats, the list and its first card.
BOXES = """() => {
  const box = (e) => { if (!e) return null; const r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, width: r.width, height: r.height}; };
  return {
    head: box(document.querySelector(".results-head")),
    side: box(document.getElementById("results-side")),
    stats: box(document.getElementById("stats")),
    posts: box(document.getElementById("posts")),
    first: box(document.querySelector("#posts .post")),
    cards: [...document.querySelectorAll("#posts .post")].map(box),
    view: {width: innerWidth, height: innerHeight},
    page: {scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth},
  };
}"""


TAGS = ["nyc", "brooklyn", "queens", "subway", "pizza", "parks", "marathon", "weather", "art", "food", "jazz"]
LANGUAGES = ["en", "es", "fr", "de", "it", "pt"]


def varied_line(n: int) -> bytes:
    """A #nyc post with another of ``TAGS``, by one of twelve authors, in one of ``LANGUAGES``; every third
    one long enough to wrap: thirty of them fill every list of the stats panel, as a busy query does."""
    words = " a walk across the bridge at dawn, the river still and the city waking up" if n % 3 == 0 else ""
    message = orjson.loads(stream_line(1000 + n, f"post {n} #nyc #{TAGS[1 + n % 10]}{words}", n))
    author = str(1 + n % 12)
    message["data"].update(author_id=author, lang=LANGUAGES[n % len(LANGUAGES)])
    message["includes"]["users"] = [{"id": author, "username": f"reader_{author}", "name": f"Reader {author}"}]
    return orjson.dumps(message) + b"\n"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    """Thirty #nyc posts (``varied_line``)."""
    path = tmp_path / "capture.jsonl"
    append_lines(path, *(varied_line(n) for n in range(30)))
    return path


@pytest.fixture
def server_env() -> dict[str, str]:
    return {"TWITTERSTREAM_ADMIN_PASSWORD": PASSWORD}


def open_results(page: Any, server: Server, width: int, height: int, path: str = "/results/%23nyc") -> dict[str, Any]:
    """The results page at this size, once its posts and its stats are drawn; the boxes of ``BOXES``."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto(server.url + path)
    expect(page.locator("#posts .post").first).to_be_visible()
    expect(page.locator("#live-status")).to_contain_text("Live")
    if page.locator("#stats").count():
        expect(page.locator("#stats")).to_have_attribute("data-posts", "30")  # its lists have their height
    boxes: dict[str, Any] = page.evaluate(BOXES)
    return boxes


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two boxes share more than a pixel's width of area."""
    return min(a["right"], b["right"]) - max(a["left"], b["left"]) > 1 and (
        min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > 1
    )


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1440, 900), (1100, 800)])
def test_a_wide_screen_shows_the_posts_beside_the_sidebar_and_above_the_fold(
    server: Server, page: Any, width: int, height: int
) -> None:
    boxes = open_results(page, server, width, height)
    first, side, stats, posts, head = boxes["first"], boxes["side"], boxes["stats"], boxes["posts"], boxes["head"]
    assert first["top"] >= 0 and first["bottom"] <= height  # the whole first card, without scrolling
    assert first["top"] - head["bottom"] <= 32  # right under the header: no options or stats in between
    whole_cards = sum(card["top"] >= 0 and card["bottom"] <= height for card in boxes["cards"])
    assert whole_cards >= 3  # the posts get the screen
    assert side["left"] >= posts["right"] + 16  # the sidebar beside the posts, a gap between
    assert stats["top"] < first["bottom"] and stats["bottom"] > posts["top"]  # the stats beside, not above
    assert stats["left"] >= posts["right"]
    assert 600 <= first["width"] <= 680  # a readable card, no wider
    assert head["bottom"] <= posts["top"] and head["left"] == posts["left"]  # the header tops the post column
    assert head["right"] <= side["left"]
    for name in ("head", "posts"):
        assert not overlaps(boxes[name], side), name
    assert not any(overlaps(card, side) for card in boxes["cards"])
    assert boxes["page"]["scroll"] == boxes["page"]["client"] == width  # nothing sticks out sideways
    assert page.problems.errors == []


def test_the_sidebar_stays_in_view_while_the_reader_scrolls_the_posts(server: Server, page: Any) -> None:
    open_results(page, server, 1440, 900, "/results/%23nyc?limit=25")
    expect(page.locator("#posts .post")).to_have_count(25)
    page.mouse.move(300, 450)  # over the posts, as a reader scrolling them
    page.mouse.wheel(0, 1500)
    page.wait_for_function("() => scrollY > 1000")
    page.wait_for_function(  # the scroll may still be easing in: wait for the sidebar to settle at the top
        "() => { const top = document.getElementById('results-side').getBoundingClientRect().top;"
        " return top >= 0 && top <= 20; }"
    )
    boxes = page.evaluate(BOXES)
    assert boxes["posts"]["top"] < -900  # the list went up...
    assert boxes["stats"]["top"] < 900  # ...the stats did not leave
    assert not any(overlaps(card, boxes["side"]) for card in boxes["cards"])
    expect(page.get_by_role("button", name="25", exact=True)).to_be_in_viewport()


def test_on_a_wide_screen_new_posts_wait_in_view_over_the_posts(server: Server, page: Any, replay_file: Path) -> None:
    open_results(page, server, 1920, 1080, "/results/%23nyc?limit=25")
    expect(page.locator("#posts .post")).to_have_count(25)
    page.mouse.move(600, 500)
    page.mouse.wheel(0, 1200)
    page.wait_for_function("() => scrollY > 1000")
    append_lines(replay_file, varied_line(59))
    waiting = page.get_by_role("button", name=re.compile(r"1 new post"))
    expect(waiting).to_be_in_viewport()  # it sticks while the reader is down the list
    button, boxes = waiting.bounding_box(), page.evaluate(BOXES)
    middle = button["x"] + button["width"] / 2
    assert abs(middle - (boxes["posts"]["left"] + boxes["posts"]["right"]) / 2) <= 1  # over the post column
    assert not overlaps(
        {"left": button["x"], "right": button["x"] + button["width"], "top": button["y"],
         "bottom": button["y"] + button["height"]},
        boxes["side"],
    )  # fmt: skip


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
TABLET = {"viewport": {"width": 1024, "height": 768}}


@pytest.mark.parametrize("context_options", [PHONE, TABLET], ids=["phone", "tablet"])
def test_a_phone_or_a_tablet_keeps_one_column(server: Server, page: Any, context_options: dict[str, Any]) -> None:
    width, height = context_options["viewport"]["width"], context_options["viewport"]["height"]
    boxes = open_results(page, server, width, height)
    head, side, stats, posts = boxes["head"], boxes["side"], boxes["stats"], boxes["posts"]
    assert head["bottom"] <= side["top"] and side["bottom"] <= posts["top"]  # stacked: header, options, posts
    assert abs(side["left"] - posts["left"]) <= 1 and abs(side["width"] - posts["width"]) <= 1
    assert stats["bottom"] <= posts["top"]
    assert boxes["page"]["scroll"] == boxes["page"]["client"] == width  # no horizontal scroll
    for a, b in [("head", "side"), ("side", "posts"), ("head", "posts")]:
        assert not overlaps(boxes[a], boxes[b]), (a, b)
    assert page.problems.errors == []


def test_the_sidebar_is_one_named_landmark_after_the_header_and_before_the_posts(server: Server, page: Any) -> None:
    open_results(page, server, 1920, 1080)
    sidebar = page.get_by_role("complementary", name="Options and stats")
    expect(sidebar).to_be_visible()
    expect(page.get_by_role("complementary")).to_have_count(1)  # the stats are a section of it, no nested landmark
    expect(sidebar.get_by_role("heading", name="Last hour")).to_be_visible()
    order = page.evaluate(
        "['.results-head', '#results-side', '#posts'].map(s => document.querySelector(s))"
        ".map((e, i, all) => i === 0 || !!(all[i - 1].compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING))"
    )
    assert order == [True, True, True]
    expect(page.locator(".results-head #pause")).to_be_visible()  # Pause stays in the header, by the live status


def test_a_wall_has_the_same_layout_without_the_stats(server: Server, page: Any) -> None:
    answer = page.request.put(
        f"{server.url}/api/v1/admin/walls/nyc",
        data={"title": "NYC live", "query": "#nyc", "approval": False},
        headers={"Authorization": f"Bearer {PASSWORD}"},
    )
    assert answer.status == 201, answer.text()
    boxes = open_results(page, server, 1920, 1080, "/wall/nyc")
    assert boxes["stats"] is None
    expect(page.get_by_role("complementary", name="Options")).to_be_visible()
    assert boxes["first"]["top"] >= 0 and boxes["first"]["bottom"] <= 1080
    assert boxes["side"]["left"] >= boxes["posts"]["right"] + 16
    assert not any(overlaps(card, boxes["side"]) for card in boxes["cards"])
    assert boxes["page"]["scroll"] == boxes["page"]["client"] == 1920
    assert page.problems.errors == []
