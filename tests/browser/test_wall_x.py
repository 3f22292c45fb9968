"""The wall against a fake X API: embeds upgraded in place, hostile oEmbed HTML defused, reconnects counted down."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from browser_server import Server, x_env
from fakes.x_api import FakeX
from fakes.x_posts import make_post
from fakes.x_render import x_503

pytestmark = pytest.mark.browser

# A stand-in for widgets.js that marks what it was asked to upgrade, so the test sees the page call it.
FAKE_WIDGETS_JS = """
window.twttr = { widgets: { load: function (root) {
  (root || document).querySelectorAll("blockquote.twitter-tweet").forEach(function (b) { b.dataset.upgraded = "yes"; });
} } };
"""


def hostile_oembed(post_id: str) -> str:
    return (
        '<blockquote class="twitter-tweet" onmouseover="alert(5)"><p lang="en" dir="ltr">embedded text '
        '<script>alert(6)</script><img src=x onerror=alert(7)> <a href="javascript:alert(8)">click me</a></p>'
        f'&mdash; Some One (@someone) <a href="https://twitter.com/someone/status/{post_id}">Nov 1, 2026</a>'
        '</blockquote><script>alert(9)</script><iframe src="javascript:alert(10)"></iframe>'
        '<svg onload="alert(11)"></svg>'
    )


@pytest.fixture
def embeds() -> str:
    """TWITTERSTREAM_EMBEDS of the server (a test may override this fixture)."""
    return "card"


@pytest.fixture
def x_server(tmp_path: Path, fake_x: FakeX, embeds: str) -> Iterator[Server]:
    server = Server(x_env(fake_x, tmp_path / "instance", TWITTERSTREAM_EMBEDS=embeds), tmp_path)
    yield server
    server.stop()


def publish(fake: FakeX, text: str, *, deliver: bool, oembed: bool = True) -> str:
    """A post whose oEmbed answer (unless not ``oembed``) is hostile markup."""
    post, user = make_post(None, text)
    if oembed:
        fake.set_oembed_html(str(post["id"]), hostile_oembed(str(post["id"])))
    fake.publish(post, users=[user], deliver=deliver)
    return str(post["id"])


@pytest.mark.parametrize("embeds", ["original", "card"])
def test_hostile_oembed_html_and_post_text_run_no_script_and_embeds_are_upgraded(
    x_server: Server, fake_x: FakeX, page: Any, embeds: str
) -> None:
    """``original``: the embed replaces the card once fetched; ``card``: it replaces it on "Show original"."""
    page.route(
        "https://platform.twitter.com/widgets.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=FAKE_WIDGETS_JS),
    )
    earlier = publish(fake_x, "found by search #nyc <script>alert(1)</script>", deliver=False)
    page.goto(f"{x_server.url}/results/%23nyc")
    if embeds == "card":
        card = page.locator(f'#posts .post[data-id="{earlier}"] .card')
        expect(card.locator(".text")).to_have_text("found by search #nyc <script>alert(1)</script>")
        card.get_by_role("button", name="Show original").click()
    embedded = page.locator(f'#posts .post[data-id="{earlier}"] .embed blockquote.twitter-tweet')
    expect(embedded).to_contain_text("embedded text")
    expect(embedded).to_have_attribute("data-upgraded", "yes")  # widgets.js loaded once and asked to upgrade it
    expect(page.locator("#live-status")).to_have_text("Live")

    later = publish(fake_x, "arrived live #nyc <img src=x onerror=alert(2)> javascript:alert(3)", deliver=True)
    live = page.locator(f'#posts .post[data-id="{later}"]')
    if embeds == "card":  # the embed is fetched after the post arrives: its button appears then
        live.get_by_role("button", name="Show original").click()
    expect(live.locator(".embed blockquote.twitter-tweet")).to_have_attribute("data-upgraded", "yes")
    expect(live).to_contain_text("click me")  # the link's words stay; its javascript: target does not
    live.hover()

    posts = page.locator("#posts")
    expect(posts.locator("script, .embed img, iframe, svg, [onmouseover], [onerror], [onload]")).to_have_count(0)
    expect(posts.locator('a[href^="javascript"]')).to_have_count(0)
    assert page.locator('script[src="https://platform.twitter.com/widgets.js"]').count() == 1
    assert page.problems.dialogs == []
    assert page.problems.errors == []


def test_reconnecting_shows_the_reason_and_counts_down_to_the_next_try(
    x_server: Server, fake_x: FakeX, page: Any
) -> None:
    fake_x.fail_next_connects(x_503())  # X overloaded once: the next try is 5 s later
    page.goto(f"{x_server.url}/results/%23nyc")
    status = page.locator("#live-status")
    expect(status).to_have_text(re.compile(r"Reconnecting to X in \d s — .*503"))
    expect(status).to_have_class("live-status is-reconnecting")
    first = status.inner_text()
    expect(status).not_to_have_text(first)  # the countdown ticks
    expect(status).to_have_text("Live", timeout=15_000)  # and the next try succeeds
    expect(page.locator("#empty")).to_contain_text("X usually starts delivering within 20 seconds")
    assert page.problems.dialogs == []
