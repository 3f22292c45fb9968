"""The screen view (?view=screen) of a search and of a wall: no page chrome, the posts, the pace, a QR code that a
phone reads as the normal page's address, themes, the stats strip; every bad option a 400 that says what is wrong.

The QR code is read back with zxing-cpp from the SVG the page carries (its modules redrawn as pixels), so the
test checks what a phone would see, not the generator's input.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import zxingcpp

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import ConfigError, Secret, Settings, load_settings

AUTH = {"Authorization": "Bearer operator-pass"}


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    """The app with an operator password (walls), no ingester: pages show what the test stored."""
    with running_app(replace(settings, admin_password=Secret("operator-pass")), tmp_path, start_ingester=False) as h:
        yield h


def page(site: Harness, url: str, status: int = 200) -> str:
    answer = site.client.get(url)
    assert answer.status_code == status, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def qr_text(html: str) -> str:
    """The text of the page's QR code, as a phone's camera would read it."""
    svg = re.search(r'<div class="qr-plate"[^>]*>(<svg .*?</svg>)</div>', html, re.S)
    assert svg, "no QR code on the page"
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg.group(1)).group(1))
    path = re.search(r'<path stroke="#000" d="([^"]+)"', svg.group(1)).group(1)
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for command, numbers in re.findall(r"([Mmh])([^Mmh]*)", path):  # segno draws each row's runs as lines
        values = [float(n) for n in numbers.split()]
        if command == "M":
            x, y = values
        elif command == "m":
            x, y = x + values[0], y + values[1]
        else:
            dark.update((int(x) + i, int(y)) for i in range(int(values[0])))
            x += values[0]
    scale = 4
    pixels = bytearray(b"\xff" * (size * scale) ** 2)
    for mx, my in dark:
        for dy in range(scale):
            start = (my * scale + dy) * size * scale + mx * scale
            pixels[start : start + scale] = b"\x00" * scale
    found = zxingcpp.read_barcodes(memoryview(bytes(pixels)).cast("B", (size * scale, size * scale)))
    assert len(found) == 1 and found[0].format == zxingcpp.BarcodeFormat.QRCode
    return str(found[0].text)


def make_wall(site: Harness) -> None:
    body = {"title": "Cats <live>", "query": "cats", "approval": True}
    assert site.client.put("/api/v1/admin/walls/cats", json=body, headers=AUTH).status_code == 201
    for n, text in [(1, "approved cats"), (2, "waiting cats"), (3, "pinned cats")]:
        site.store.save_post(make_post(n, text), ["cats"])
    assert site.client.post("/api/v1/admin/walls/cats/posts/x/1/approve", headers=AUTH).status_code == 200
    assert site.client.post("/api/v1/admin/walls/cats/posts/x/3/pin", headers=AUTH).status_code == 200


def test_a_search_on_screen_has_its_posts_and_no_chrome_or_form(site: Harness) -> None:
    site.store.save_post(make_post(1, "older cats"), ["cats"])
    site.store.save_post(make_post(2, "newer cats"), ["cats"])
    html = page(site, "/results/cats?view=screen")
    assert '<html lang="en" class="screen">' in html  # no theme asked: the device's scheme
    assert '<meta name="color-scheme" content="light dark">' in html
    for chrome in ["<form", 'class="top"', "<footer", "Skip to content", 'id="pause"', "Export CSV", "embed-code"]:
        assert chrome not in html, chrome
    assert html.index('data-id="2"') < html.index('data-id="1"')  # newest first
    assert '<h1 class="screen-title" title="cats">cats</h1>' in html
    assert 'data-stream-url="/api/v1/stream?q=cats&amp;limit=40"' in html
    assert 'data-pace-url="/api/v1/pace?q=cats"' in html  # a search's pace: the store's count
    assert '<script src="/static/screen.js" defer></script>' in html
    assert '<link rel="stylesheet" href="/static/screen.css">' in html
    assert 'aria-live="polite"' in html
    assert 'id="stats"' not in html  # the stats strip only when asked
    assert [w.key for w in site.store.watched()] == ["cats"]  # a screen is a view: it keeps the query watched
    for asset in ["/static/screen.js", "/static/screen.css"]:
        assert site.client.get(asset).status_code == 200


def test_the_qr_code_reads_as_the_normal_page_of_the_search(site: Harness) -> None:
    html = page(site, "/results/%23nyc%20%22big%20apple%22?view=screen&theme=dark")
    assert qr_text(html) == "http://localhost/results/%23nyc%20%22big%20apple%22"
    assert 'aria-label="QR code leading to http://localhost/results/%23nyc%20%22big%20apple%22"' in html
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert "style" not in svg  # the CSP allows no inline style: presentation attributes only
    assert "'unsafe-inline'" not in site.client.get("/results/cats?view=screen").headers["Content-Security-Policy"]


def test_the_qr_code_leads_to_the_public_url_when_one_is_set(settings: Settings, tmp_path: Path) -> None:
    public = replace(settings, public_url="https://wall.example.org")
    with running_app(public, tmp_path, start_ingester=False) as site:
        html = page(site, "/results/%23nyc?view=screen")
        assert qr_text(html) == "https://wall.example.org/results/%23nyc"
        assert '<a class="qr-address" id="qr-address" href="https://wall.example.org/results/%23nyc">' in html


def test_the_public_url_setting_is_one_origin() -> None:
    read = load_settings({"TWITTERSTREAM_PUBLIC_URL": " https://wall.example.org/ "}, None)
    assert read.public_url == "https://wall.example.org"
    assert load_settings({}, None).public_url == ""
    for bad in ["wall.example.org", "https://wall.example.org/path", "https://a.example,https://b.example", "ftp://a"]:
        with pytest.raises(ConfigError, match="TWITTERSTREAM_PUBLIC_URL"):
            load_settings({"TWITTERSTREAM_PUBLIC_URL": bad}, None)


def test_an_address_too_long_for_a_qr_code_leaves_it_out(site: Harness) -> None:
    query = "ü" * 500  # 3,000 characters once percent-encoded: more than a QR code holds
    html = page(site, f"/results/{query}?view=screen")
    assert 'class="qr-plate"' not in html
    assert "Follow on your phone" in html and 'class="qr-address"' in html


@pytest.mark.parametrize(("theme", "scheme"), [("light", "light"), ("dark", "dark"), ("contrast", "dark")])
def test_a_theme_is_asked_for_in_the_address(site: Harness, theme: str, scheme: str) -> None:
    html = page(site, f"/results/cats?view=screen&theme={theme}")
    assert f'<html lang="en" class="screen" data-theme="{theme}">' in html
    assert f'<meta name="color-scheme" content="{scheme}">' in html


def test_the_stats_strip_is_shown_when_asked(site: Harness) -> None:
    html = page(site, "/results/cats?view=screen&stats=1")
    assert 'class="page-screen with-stats"' in html
    assert 'data-stats-url="/api/v1/stats?q=cats&amp;minutes=60"' in html
    assert '<script src="/static/stats.js" defer></script>' in html
    assert 'id="stats"' not in page(site, "/results/cats?view=screen&stats=0")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "/results/cats?view=wall",
            "view must be screen (the wall for a big screen), or left out (got &#39;wall&#39;)",
        ),
        ("/results/cats?view=", "view must be screen"),
        ("/results/cats?view=screen&theme=neon", "theme must be one of light, dark, contrast"),
        ("/results/cats?view=screen&theme=Dark", "(got &#39;Dark&#39;)"),
        ("/results/cats?view=screen&stats=yes", "stats must be 1 (show the stats strip) or 0"),
        ("/results/cats?theme=dark", "theme applies to the screen view only: add view=screen"),
        ("/results/cats?stats=1", "stats applies to the screen view only"),
        ("/wall/cats?view=screens", "view must be screen"),
        ("/wall/cats?view=screen&theme=x" + "y" * 100, "(got &#39;xyyyyyyyyyyyyyyyyyyy…&#39;)"),
        ("/wall/cats?view=screen&stats=1", "a wall shows no stats"),
    ],
)
def test_a_bad_option_is_a_400_that_says_what_is_allowed(site: Harness, url: str, message: str) -> None:
    make_wall(site)
    html = page(site, url, 400)
    assert message in html


def test_a_wall_on_screen_shows_its_title_and_only_what_the_wall_shows(site: Harness) -> None:
    make_wall(site)
    html = page(site, "/wall/cats?view=screen&theme=contrast")
    assert '<h1 class="screen-title" title="Cats &lt;live&gt;">Cats &lt;live&gt;</h1>' in html
    assert "<title>Cats &lt;live&gt; · TwitterStream</title>" in html
    assert 'data-id="1"' in html and 'data-id="3"' in html
    assert 'data-id="2"' not in html  # waiting for approval: not on the wall, not on its screen
    assert html.index('data-id="3"') < html.index('data-id="1"')  # pinned first
    assert re.search(r'data-id="3"[^>]*data-pinned="true"', html)
    assert 'data-stream-url="/api/v1/walls/cats/stream?limit=40"' in html
    assert "data-pace-url" not in html  # a wall's pace is counted by the page, from what it shows
    assert qr_text(html) == "http://localhost/wall/cats"
    assert "<form" not in html
    assert page(site, "/wall/nope?view=screen", 404)


def test_the_normal_pages_are_unchanged_without_view(site: Harness) -> None:
    make_wall(site)
    assert 'class="screen' not in page(site, "/results/cats")
    assert 'id="wall"' in page(site, "/wall/cats")
    assert "qr-plate" not in page(site, "/wall/cats")
