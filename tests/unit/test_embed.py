"""Third-party HTML is sanitised before it reaches a page."""

from __future__ import annotations

from datetime import UTC, datetime

from samples import load
from twitterstream.embed import bluesky_blockquote, sanitize_mastodon_embed, sanitize_x_embed
from twitterstream.models import Author, Post


def test_real_x_oembed_keeps_what_widgets_js_needs_and_drops_the_script() -> None:
    clean = sanitize_x_embed(load("x/oembed.json")["html"])
    assert clean.startswith('<blockquote class="twitter-tweet"><p lang="en" dir="ltr">')
    assert '<a href="https://t.co/eJh4f2zncC" rel="noopener noreferrer">pic.twitter.com/eJh4f2zncC</a>' in clean
    assert "<script" not in clean
    assert "— San Diego Boo 👻 Wildlife Alliance (@sandiegozoo)" in clean


def test_hostile_x_html_loses_scripts_handlers_and_javascript_urls() -> None:
    hostile = (
        '<blockquote class="twitter-tweet evil" onclick="alert(1)" style="x">'
        '<p lang="en" dir="ltr" onmouseover="alert(2)">hi <img src=x onerror="alert(3)">'
        '<a href="javascript:alert(4)">click</a><iframe src="https://evil.example"></iframe></p>'
        "<script>alert(5)</script><svg onload=alert(6)></svg></blockquote>"
    )
    clean = sanitize_x_embed(hostile)
    bad_parts = ("alert", "onclick", "onerror", "onmouseover", "javascript:")
    bad_parts += ("<img", "<iframe", "<script", "<svg", "style")
    for bad in bad_parts:
        assert bad not in clean, bad
    assert clean.startswith('<blockquote class="twitter-tweet">')


def test_mastodon_embed_keeps_only_an_iframe_from_the_home_server() -> None:
    good = (
        '<iframe src="https://mastodon.social/@a/1/embed" class="mastodon-embed" width="400"></iframe>'
        '<script src="https://mastodon.social/embed.js"></script>'
    )
    assert sanitize_mastodon_embed(good, "mastodon.social") == (
        '<iframe src="https://mastodon.social/@a/1/embed" class="mastodon-embed" width="400"></iframe>'
    )
    assert sanitize_mastodon_embed('<iframe src="https://evil.example/x"></iframe>', "mastodon.social") == ""
    assert sanitize_mastodon_embed('<iframe src="javascript:alert(1)"></iframe>', "mastodon.social") == ""


def test_bluesky_blockquote_is_built_locally_and_escapes_the_text() -> None:
    post = Post(
        id="did:plc:a/3k",
        source="bluesky",
        url="https://bsky.app/profile/did:plc:a/post/3k",
        text='<script>alert("x")</script> & more',
        created_at=datetime(2026, 7, 4, 14, 38, tzinfo=UTC),
        author=Author(id="did:plc:a", username="alice.bsky.social"),
        lang="en",
        extra={"uri": "at://did:plc:a/app.bsky.feed.post/3k", "cid": "bafy"},
    )
    html = bluesky_blockquote(post)
    assert html.startswith(
        '<blockquote class="bluesky-embed" data-bluesky-uri="at://did:plc:a/app.bsky.feed.post/3k" '
        'data-bluesky-cid="bafy">'
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="https://bsky.app/profile/did:plc:a" rel="noopener noreferrer">alice.bsky.social</a>' in html


class _PortableOnly(datetime):
    """A datetime whose strftime refuses glibc's extensions, like the C libraries of macOS or Windows may."""

    def strftime(self, fmt: str) -> str:
        if "%-" in fmt:
            raise ValueError(f"{fmt!r}: '%-' is a glibc extension")
        return super().strftime(fmt)


def test_bluesky_blockquote_date_has_no_leading_zero_without_glibc_formats() -> None:
    for day, shown in ((4, "July 4, 2026 at 09:05"), (14, "July 14, 2026 at 09:05")):
        post = Post(
            id=f"did:plc:a/3k{day}",
            source="bluesky",
            url=f"https://bsky.app/profile/did:plc:a/post/3k{day}",
            text="hello",
            created_at=_PortableOnly(2026, 7, day, 9, 5, tzinfo=UTC),
            author=Author(id="did:plc:a"),
        )
        assert f">{shown}</a></blockquote>" in bluesky_blockquote(post)
