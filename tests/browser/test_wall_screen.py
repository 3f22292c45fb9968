"""The screen view in Chromium at screen sizes from 1280x720 to 3840x2160: it fills the screen without a
scrollbar, cards never overlap, type grows with the screen, themes change the colours, the page is usable by
keyboard and screen reader, arrivals move (unless reduced motion is asked), and the page stays the same size
however many posts go through it (the DOM and the listeners bounded)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import expect

from browser_server import Server, append_lines, replay_env, stream_line

pytestmark = pytest.mark.browser

PASSWORD = "screen operator password"
SENTENCE = "the ferry to the island at dawn is the best way to see the harbour light up in winter"
#: The page as a screen shows it: what can scroll, where the shown cards are, how large the type is.
MEASURE = """() => {
  const shown = [...document.querySelectorAll('#posts .post:not(.is-clipped)')];
  const rects = shown.map((e) => e.getBoundingClientRect());
  let overlaps = 0;
  rects.forEach((a, i) => rects.slice(i + 1).forEach((b) => {
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) overlaps += 1;
  }));
  const list = document.getElementById('posts').getBoundingClientRect();
  const size = (selector) => parseFloat(getComputedStyle(document.querySelector(selector)).fontSize);
  return {
    docHeight: document.documentElement.scrollHeight, docWidth: document.documentElement.scrollWidth,
    bodyHeight: document.body.scrollHeight, bodyWidth: document.body.scrollWidth,
    width: innerWidth, height: innerHeight, shown: shown.length, overlaps,
    columns: new Set(rects.map((r) => Math.round(r.left))).size,
    left: Math.min(...rects.map((r) => r.left)), right: Math.max(...rects.map((r) => r.right)),
    bottom: Math.max(...rects.map((r) => r.bottom)), listTop: list.top, listBottom: list.bottom,
    text: size('#posts .post:not(.is-short):not(.is-wide) .text'), title: size('.screen-title'),
  };
}"""


def text_of(n: int) -> str:
    """Posts of different lengths (3 to 30 words), so that the masonry has different heights to fit."""
    words = SENTENCE.split()
    return " ".join((words * 2)[: 3 + (n * 7) % 28]) + f" {n} #nyc"


def photo_line(post_id: int, seconds: int, pictures: int) -> bytes:
    """An X stream message with ``pictures`` photos (bundled demo pictures, so no network) and their alt text."""
    keys = [f"3_{post_id}{k}" for k in range(pictures)]
    message = {
        "data": {
            "id": str(post_id), "text": f"Pictures from the pier {post_id} #nyc", "author_id": "7", "lang": "en",
            "created_at": f"2026-11-01T12:{seconds // 60:02d}:{seconds % 60:02d}.000Z",
            "entities": {"hashtags": [{"start": 27 + len(str(post_id)), "end": 31 + len(str(post_id)), "tag": "nyc"}]},
            "attachments": {"media_keys": keys},
        },
        "includes": {
            "users": [{"id": "7", "username": "wall_tester", "name": "Wall Tester",
                       "profile_image_url": "/static/demo/avatars/nina_demo.svg"}],
            "media": [{"media_key": key, "type": "photo", "url": "/static/demo/harbor-fog.svg",
                       "alt_text": f"Harbour in the fog, picture {k + 1}", "width": 1200, "height": 800}
                      for k, key in enumerate(keys)],
        },
    }  # fmt: skip
    return orjson.dumps(message) + b"\n"


def lines(first: int, count: int, start_second: int = 0) -> list[bytes]:
    return [stream_line(first + n, text_of(n), start_second + n) for n in range(count)]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    """30 #nyc posts of different lengths, three with pictures."""
    path = tmp_path / "capture.jsonl"
    append_lines(path, *lines(1000, 27), photo_line(1100, 30, 1), photo_line(1101, 31, 2), photo_line(1102, 32, 4))
    return path


@pytest.fixture
def server(tmp_path: Path, capture: Path) -> Iterator[Server]:
    env = {**replay_env(capture, tmp_path / "instance"), "TWITTERSTREAM_ADMIN_PASSWORD": PASSWORD}
    server = Server(env, tmp_path)
    yield server
    server.stop()


def open_screen(browser: Any, url: str, **options: Any) -> tuple[Any, Any]:
    """A new browser context (viewport, motion, colour scheme as given) with ``url`` open; errors recorded."""
    context = browser.new_context(**{"reduced_motion": "reduce", **options})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.goto(url)
    expect(page.locator("#screen-live")).to_have_text("Live")
    return context, page


#: A query whose title is far wider than any screen: it is cut with an ellipsis, the page does not widen.
LONG_QUERY = "%23nyc%20OR%20" + "%20OR%20".join(f"harbourfrontpromenade{n}" for n in range(12))


@pytest.mark.parametrize(
    ("width", "height", "query", "extra"),
    [(1280, 720, LONG_QUERY, ""), (1920, 1080, "%23nyc", ""), (3840, 2160, "%23nyc", "&stats=1")],
)
def test_the_screen_is_filled_edge_to_edge_without_scrollbars(
    server: Server, browser: Any, width: int, height: int, query: str, extra: str
) -> None:
    url = f"{server.url}/results/{query}?view=screen{extra}"
    context, page = open_screen(browser, url, viewport={"width": width, "height": height})
    try:
        expect(page.locator("#posts .post")).to_have_count(30)
        seen = page.evaluate(MEASURE)
        assert seen["docHeight"] <= seen["height"] and seen["docWidth"] <= seen["width"], seen  # no scrollbar
        assert seen["bodyHeight"] <= seen["height"] and seen["bodyWidth"] <= seen["width"], seen  # nothing cut off
        assert seen["columns"] >= 3, seen  # several columns...
        assert seen["left"] < 0.03 * width and seen["right"] > 0.97 * width, seen  # ...across the whole width
        assert seen["bottom"] >= seen["listBottom"], seen  # and down to the bottom edge (which cuts the last row)
        assert seen["overlaps"] == 0, seen
        wide = page.locator("#posts .post.is-wide")  # posts with pictures take two columns
        expect(wide).to_have_count(3)
        assert all(w["width"] > 1.9 * w["narrow"] for w in [page.evaluate(WIDTHS)]), page.evaluate(WIDTHS)
        if extra:
            expect(page.locator("#stats")).to_have_attribute("data-posts", "30")  # the strip, filled live
            expect(page.locator("#stats-posts")).to_have_text("30")
            assert (
                page.locator("#stats").bounding_box()["y"] + page.locator("#stats").bounding_box()["height"] <= height
            )
        assert page.errors == []
    finally:
        context.close()


WIDTHS = """() => ({
  width: document.querySelector('#posts .post.is-wide').getBoundingClientRect().width,
  narrow: document.querySelector('#posts .post:not(.is-wide)').getBoundingClientRect().width,
})"""


def test_type_grows_with_the_screen(server: Server, browser: Any) -> None:
    sizes = {}
    for width, height in [(1920, 1080), (3840, 2160)]:
        context, page = open_screen(
            browser, f"{server.url}/results/%23nyc?view=screen", viewport={"width": width, "height": height}
        )
        try:
            expect(page.locator("#posts .post")).to_have_count(30)
            sizes[width] = page.evaluate(MEASURE)
        finally:
            context.close()
    small, large = sizes[1920], sizes[3840]
    assert small["text"] >= 24, small  # readable from the back of a room: about 29 px of post text at 1080p
    assert large["text"] > 1.9 * small["text"] and large["title"] > 1.9 * small["title"], (small, large)
    assert large["columns"] == small["columns"]  # the same layout, twice as large


COLOURS = """() => {
  const style = (selector) => getComputedStyle(document.querySelector(selector));
  return { page: style('body').backgroundColor, card: style('#posts .card').backgroundColor,
           text: style('#posts .card .text').color, link: style('#posts .card .text a').color,
           border: style('#posts .card').borderTopColor };
}"""


def luminance(colour: str) -> float:
    """WCAG relative luminance of ``rgb(r, g, b)``."""
    channels = [int(c) / 255 for c in colour[colour.index("(") + 1 : colour.index(")")].split(",")[:3]]
    r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    high, low = sorted([luminance(a), luminance(b)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_themes_change_the_colours_and_contrast_is_white_on_black(server: Server, browser: Any) -> None:
    seen = {}
    for theme, scheme in [("light", "dark"), ("dark", "light"), ("contrast", "light"), ("", "dark")]:
        # the device's scheme is the opposite of the theme asked for: the theme wins; without one, the device does
        url = f"{server.url}/results/%23nyc?view=screen" + (f"&theme={theme}" if theme else "")
        context, page = open_screen(browser, url, color_scheme=scheme)
        try:
            expect(page.locator("#posts .post")).to_have_count(30)
            seen[theme or "device"] = page.evaluate(COLOURS)
        finally:
            context.close()
    assert luminance(seen["light"]["page"]) > 0.8 and luminance(seen["dark"]["page"]) < 0.05, seen
    assert seen["device"] == seen["dark"]  # no theme, a dark device: the dark colours
    assert len({str(colours) for colours in seen.values()}) == 3, seen
    high = seen["contrast"]
    assert high["page"] == high["card"] == "rgb(0, 0, 0)", high
    assert high["text"] == high["border"] == "rgb(255, 255, 255)", high
    assert high["link"] == "rgb(255, 255, 0)", high
    for theme in ("light", "dark"):
        assert contrast(seen[theme]["text"], seen[theme]["card"]) >= 7, (theme, seen[theme])  # WCAG AAA
        assert contrast(seen[theme]["link"], seen[theme]["card"]) >= 4.5, (theme, seen[theme])


def test_landmarks_live_region_alt_text_and_keyboard(server: Server, page: Any) -> None:
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"{server.url}/results/%23nyc?view=screen")
    expect(page.locator("#posts .post")).to_have_count(30)
    expect(page.get_by_role("banner")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
    expect(page.get_by_role("heading", level=1, name="#nyc")).to_be_visible()
    expect(page.get_by_role("region", name="Posts: #nyc, newest first")).to_be_visible()
    expect(page.get_by_role("img", name="QR code leading to " + server.url + "/results/%23nyc")).to_be_visible()
    assert page.locator("html").get_attribute("lang") == "en"
    # arrivals are announced politely (a count, never each post), and the posts themselves are not a live region
    expect(page.locator("#announcer")).to_have_attribute("aria-live", "polite")
    assert page.locator("[aria-live=assertive], [role=alert]").count() == 0
    assert page.locator("#posts").get_attribute("aria-live") is None
    # every picture has an alt text: the post's own, or empty for an avatar (the name is next to it)
    alts = page.eval_on_selector_all("#posts img", "imgs => imgs.map((i) => [i.className, i.getAttribute('alt')])")
    assert alts and all(alt is not None for _, alt in alts)
    assert ["", "Harbour in the fog, picture 1"] in alts
    assert all(alt == "" for cls, alt in alts if cls == "avatar-img")
    # the keyboard reaches the page's link, then the cards' links, in reading order, with a visible focus ring
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "qr-address"
    for _ in range(6):
        page.keyboard.press("Tab")
        focus = page.evaluate(
            """() => { const e = document.activeElement; const r = e.getBoundingClientRect();
               return { inCard: Boolean(e.closest('#posts .post:not(.is-clipped)')), outline: getComputedStyle(e).outlineStyle,
                        inside: r.top >= 0 && r.bottom <= innerHeight + 1 }; }"""
        )
        assert focus["inCard"] and focus["outline"] != "none", focus
    assert page.problems.errors == []


def test_new_posts_come_in_at_the_top_with_movement_and_none_with_reduced_motion(
    server: Server, browser: Any, capture: Path
) -> None:
    moving = "document.getAnimations().filter((a) => !(a instanceof CSSAnimation)).length"
    for motion, second in [("no-preference", 100), ("reduce", 110)]:
        context, page = open_screen(
            browser, f"{server.url}/results/%23nyc?view=screen", viewport={"width": 1920, "height": 1080},
            reduced_motion=motion,
        )  # fmt: skip
        try:
            expect(page.locator("#posts .post")).to_have_count(30 if motion != "reduce" else 31)
            first = 2000 + second
            append_lines(capture, stream_line(first, "fresh news from the river #nyc", second))
            if motion == "no-preference":
                page.wait_for_function(f"() => {moving} > 0", polling="raf")  # the cards glide to their places
            expect(page.locator("#posts .post").first).to_have_attribute("data-id", str(first))
            if motion == "reduce":
                assert page.evaluate("document.getAnimations().length") == 0  # not even the live dot pulses
            else:
                page.wait_for_function(f"() => {moving} === 0")  # and settle
            assert page.evaluate(MEASURE)["overlaps"] == 0
            expect(page.locator("#screen-pace-count")).to_have_text(re.compile(r"^[0-9]+$"))  # a figure, not a dash
            assert page.errors == []
        finally:
            context.close()


SETTLED = "() => document.getAnimations().filter((a) => !(a instanceof CSSAnimation)).length === 0"


def test_the_page_stays_the_same_size_after_500_posts(server: Server, browser: Any, capture: Path) -> None:
    # motion on: the movements are part of what must not leak
    context, page = open_screen(
        browser, f"{server.url}/results/%23nyc?view=screen", viewport={"width": 1920, "height": 1080},
        reduced_motion="no-preference",
    )  # fmt: skip
    cdp = context.new_cdp_session(page)

    def counters() -> dict[str, int]:
        cdp.send("HeapProfiler.collectGarbage")
        found: dict[str, int] = cdp.send("Memory.getDOMCounters")
        found["elements"] = page.evaluate("document.getElementsByTagName('*').length")
        return found

    def burst(batch: int) -> None:  # 100 posts at once, as a busy hashtag sends them
        append_lines(capture, *lines(4000 + 100 * batch, 100, 300 + 100 * batch))
        expect(page.locator("#posts .post").first).to_have_attribute("data-id", str(4099 + 100 * batch))
        page.wait_for_function(SETTLED)

    try:
        # the first burst fills the screen and runs every path once (Playwright's own helpers included)
        burst(0)
        expect(page.locator("#posts .post")).to_have_count(40)
        full = counters()
        for batch in range(1, 6):  # 500 more
            burst(batch)
        after = counters()
        expect(page.locator("#posts .post")).to_have_count(40)  # the oldest left as the new ones came
        ids = page.eval_on_selector_all("#posts .post", "els => els.map((e) => Number(e.dataset.id))")
        assert ids == list(range(4599, 4559, -1))  # the newest 40, newest first
        assert after["elements"] <= full["elements"] + 40, (full, after)
        assert after["nodes"] <= full["nodes"] * 1.2, (full, after)
        assert after["jsEventListeners"] <= full["jsEventListeners"], (full, after)
        assert after["documents"] <= full["documents"], (full, after)
        assert page.evaluate(MEASURE)["overlaps"] == 0
        assert page.errors == []
    finally:
        context.close()


def test_a_wall_on_screen_shows_only_what_its_operator_lets_through(
    server: Server, browser: Any, capture: Path
) -> None:
    context, page = open_screen(browser, f"{server.url}/results/%23nyc?view=screen")
    try:
        answer = page.request.put(
            f"{server.url}/api/v1/admin/walls/harbour",
            data={"title": "Harbour live", "query": "#nyc", "approval": True},
            headers={"Authorization": f"Bearer {PASSWORD}"},
        )
        assert answer.status == 201, answer.text()
        page.goto(f"{server.url}/wall/harbour?view=screen&theme=contrast")
        expect(page.locator("#screen-live")).to_have_text("Live")
        expect(page.get_by_role("heading", level=1, name="Harbour live")).to_be_visible()
        expect(page.locator("#empty")).to_be_visible()
        assert page.locator("#posts .post").count() == 0  # approval: nothing before the operator says so
        auth = {"Authorization": f"Bearer {PASSWORD}"}
        for post_id, action in [("1003", "approve"), ("1007", "pin")]:
            done = page.request.post(
                f"{server.url}/api/v1/admin/walls/harbour/posts/x/{post_id}/{action}", headers=auth
            )
            assert done.status == 200, done.text()
        expect(page.locator("#posts .post")).to_have_count(2)
        expect(page.locator("#posts .post").first).to_have_attribute("data-pinned", "true")
        expect(page.locator("#posts .post").first).to_have_attribute("data-id", "1007")
        expect(page.locator("#empty")).to_be_hidden()
        expect(page.locator("#screen-pace-count")).to_have_text("2")  # counted from what the wall showed
        assert page.locator("#stats").count() == 0
        hidden = page.request.post(f"{server.url}/api/v1/admin/posts/x/1003/hide", headers=auth)
        assert hidden.status == 200, hidden.text()
        expect(page.locator("#posts .post")).to_have_count(1)  # hidden everywhere: it leaves the screen at once
        expect(page.locator("#posts .post").first).to_have_attribute("data-id", "1007")
        assert page.errors == []
    finally:
        context.close()
