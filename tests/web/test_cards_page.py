"""The server-drawn cards of a results page: the post's own entities linked, media with alt text, escaping."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import Settings
from twitterstream.models import Media, Post

HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        yield harness


def page_with(site: Harness, post: Post, query: str = "cards") -> str:
    site.store.save_post(post, [query])
    answer = site.client.get(f"/results/{query}")
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def rich_post(post_id: int = 1, **changes: Any) -> Post:
    """A post with a hashtag, a mention, a link, a photo and a video, and its author's avatar."""
    fields: dict[str, Any] = {
        "text": "Dusk at the pier #NYC with @bob, more at https://example.com/pier",
        "hashtags": ("NYC",),
        "mentions": ("bob",),
        "urls": ("https://example.com/pier",),
        "media_types": ("photo", "video"),
        "media": (
            Media("photo", "https://pbs.twimg.com/media/pier.jpg", None, "The pier at dusk", 1200, 800),
            Media("video", None, "https://pbs.twimg.com/ext_tw_video_thumb/2/pu/img/p.jpg"),
        ),
    }
    fields.update(changes)
    post = make_post(post_id, **fields)
    post.author.avatar_url = "https://pbs.twimg.com/profile_images/42/someone_normal.jpg"
    return post


def test_a_card_links_its_entities_and_shows_its_media_with_alt_text(site: Harness) -> None:
    html = page_with(site, rich_post())
    assert '<a class="hashtag" href="/results/%23NYC">#NYC</a>' in html
    assert '<a class="mention" href="https://x.com/bob" rel="noopener noreferrer" target="_blank">@bob</a>' in html
    assert '<a class="link" href="https://example.com/pier" rel="noopener noreferrer" target="_blank">' in html
    assert '<img class="avatar-img" src="https://pbs.twimg.com/profile_images/42/someone_normal.jpg" alt=""' in html
    assert 'src="https://pbs.twimg.com/media/pier.jpg" alt="The pier at dusk"' in html
    assert 'width="1200" height="800"' in html
    # the placeholder waits, hidden, behind each picture: cards.js shows it if the picture cannot load
    assert '<span class="media-missing" hidden>The pier at dusk</span>' in html
    assert '<span class="media-badge">Video</span>' in html
    assert 'class="source-icon source-x" role="img" aria-label="X"' in html
    assert "show-original" not in html  # no embed fetched yet


def test_a_card_without_a_picture_shows_the_initial_and_its_placeholder(site: Harness) -> None:
    post = rich_post(media=(Media("video", "https://example.social/v.mp4", None, "Waves"),))
    post.author.avatar_url = None
    html = page_with(site, post)
    assert '<span class="avatar" aria-hidden="true">S</span>' in html
    assert '<span class="media-missing">Waves</span>' in html  # a video without a poster frame: the words show


def test_every_field_of_a_card_is_escaped(site: Harness) -> None:
    post = rich_post(content_warning=HOSTILE, text=HOSTILE + "\n\nbody", hashtags=())
    post.author.name = HOSTILE
    post.media = (Media("photo", "https://pbs.twimg.com/media/a.jpg", None, HOSTILE),)
    html = page_with(site, post)
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # name, warning, alt, placeholder
    assert 'alt="&#34;&gt;&lt;script&gt;' in html


def test_a_content_warning_hides_the_text_and_media_behind_a_click(site: Harness) -> None:
    html = page_with(site, rich_post(text="Film spoilers\n\nthe ending", content_warning="Film spoilers"))
    assert '<details class="warning">' in html
    assert '<span class="warning-label">Film spoilers</span>' in html
    start = html.index('<details class="warning">')
    body = html[start : html.index("</details>", start)]
    assert "the ending" in body and "pier.jpg" in body
    # a post its service labels sensitive is left out unless TWITTERSTREAM_SHOW_SENSITIVE (tests/moderation)
    sensitive = page_with(site, rich_post(2, sensitive=True), "other")
    assert '<details class="warning">' not in sensitive


def test_the_original_embed_waits_behind_show_original_unless_the_setting_says_original(
    settings: Settings, tmp_path: Path
) -> None:
    post = rich_post(embed_html='<blockquote class="twitter-tweet"><p>embedded words</p></blockquote>')
    with running_app(settings, tmp_path / "card", start_ingester=False) as site:
        html = page_with(site, post)
        assert '<button type="button" class="show-original">Show original</button>' in html
        assert '<template class="original"><blockquote class="twitter-tweet"><p>embedded words' in html
        assert 'class="card"' in html and 'data-embeds="card"' in html
    with running_app(settings.with_overrides(embeds="original"), tmp_path / "original", start_ingester=False) as site:
        html = page_with(site, post)
        assert '<div class="embed"><blockquote class="twitter-tweet"><p>embedded words' in html
        assert 'class="card"' not in html and "<template" not in html


class _ListChecker(HTMLParser):
    """Follows the open elements as a browser would for well-formed HTML; notes each post's containers."""

    VOID = {"img", "br", "hr", "input", "meta", "link", "source", "wbr", "area", "col", "embed", "track"}

    def __init__(self) -> None:
        super().__init__()
        self.open: list[tuple[str, str | None]] = []
        self.post_parents: list[list[str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "article":
            self.post_parents.append([element_id for _, element_id in self.open])
        if tag not in self.VOID:
            self.open.append((tag, dict(attrs).get("id")))

    def handle_endtag(self, tag: str) -> None:
        while self.open and self.open.pop()[0] != tag:  # a stray end tag closes what it finds, like a browser
            pass


def test_every_card_stays_inside_the_list_when_sensitive_posts_are_shown(settings: Settings, tmp_path: Path) -> None:
    with running_app(settings.with_overrides(show_sensitive=True), tmp_path, start_ingester=False) as site:
        site.store.save_post(rich_post(1), ["cards"])
        site.store.save_post(rich_post(2, sensitive=True), ["cards"])
        html = page_with(site, rich_post(3))
    checker = _ListChecker()
    checker.feed(html)
    assert len(checker.post_parents) == 3
    assert all("posts" in parents for parents in checker.post_parents)
