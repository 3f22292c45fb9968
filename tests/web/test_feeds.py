"""Feeds: valid Atom 1.0 and RSS 2.0 of a query's newest posts, cheap to poll (ETag, Last-Modified, 304)."""

from __future__ import annotations

from pathlib import Path

import feedparser
import pytest
from lxml import etree

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import Settings

ATOM = "{http://www.w3.org/2005/Atom}"


def _store_cats(site: Harness, count: int = 3) -> None:
    for n in range(1, count + 1):
        site.store.save_post(make_post(n, f"cats <b>#{n}</b> & more\nsecond line", username="ann"), ["cats"])


def test_the_atom_feed_has_the_newest_posts_as_entries(store_site: Harness) -> None:
    _store_cats(store_site)
    store_site.store.save_post(
        make_post(9, "a cat picture", username="bob", media_urls=("https://img.example/9.jpg",)), ["cats"]
    )
    answer = store_site.client.get("/api/v1/feed?q=cats")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = etree.fromstring(answer.data)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):  # RFC 4287 4.1.1
        assert root.find(f"{ATOM}{required}") is not None
    entries = root.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}link").get("href") for e in entries] == [
        "https://x.com/bob/status/9",
        "https://x.com/ann/status/3",
        "https://x.com/ann/status/2",
        "https://x.com/ann/status/1",
    ]
    parsed = feedparser.parse(answer.data)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "atom10"
    first, second = parsed.entries[0], parsed.entries[1]
    assert first.title == "@bob: a cat picture"
    assert first.author == "Some One"
    assert first.published == "2026-11-01T12:00:09+00:00"
    assert 'href="https://img.example/9.jpg"' in first.content[0].value
    # The text is escaped text, never markup: the "<b>" arrives as characters.
    assert second.content[0].value == "<p>cats &lt;b&gt;#3&lt;/b&gt; &amp; more<br />\nsecond line</p>"
    assert {link.rel for link in parsed.feed.links} == {"self", "alternate"}


def test_the_rss_feed_is_rss_2(store_site: Harness) -> None:
    _store_cats(store_site)
    answer = store_site.client.get("/api/v1/feed?q=cats&format=rss")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/rss+xml; charset=utf-8"
    channel = etree.fromstring(answer.data).find("channel")
    assert channel is not None
    for required in ("title", "link", "description"):  # RSS 2.0 required channel elements
        assert channel.findtext(required)
    assert channel.findtext("link") == "http://localhost/results/cats"
    parsed = feedparser.parse(answer.data)
    assert not parsed.bozo, parsed.bozo_exception
    assert parsed.version == "rss20"
    assert [e.link for e in parsed.entries] == [f"https://x.com/ann/status/{n}" for n in (3, 2, 1)]
    assert parsed.entries[0].author == "Some One"
    assert parsed.entries[0].published_parsed[:6] == (2026, 11, 1, 12, 0, 3)


def test_characters_xml_cannot_carry_are_dropped_not_a_500(store_site: Harness) -> None:
    store_site.store.save_post(make_post(1, "bell \x07 and form feed \x0c", username="ann"), ["cats"])
    for kind in ("atom", "rss"):
        answer = store_site.client.get(f"/api/v1/feed?q=cats&format={kind}")
        assert answer.status_code == 200
        assert not feedparser.parse(answer.data).bozo
        assert "bell  and form feed " in answer.get_data(as_text=True)


def test_an_empty_query_feed_is_still_a_valid_feed(store_site: Harness) -> None:
    parsed = feedparser.parse(store_site.client.get("/api/v1/feed?q=nothing").data)
    assert not parsed.bozo
    assert parsed.entries == []
    assert parsed.feed.title == "TwitterStream: nothing"


def test_polling_with_the_etag_answers_304_until_a_post_arrives(store_site: Harness) -> None:
    _store_cats(store_site)
    client = store_site.client
    first = client.get("/api/v1/feed?q=cats")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert modified == "Sun, 01 Nov 2026 12:00:03 GMT"
    again = client.get("/api/v1/feed?q=cats", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    assert client.get("/api/v1/feed?q=cats", headers={"If-Modified-Since": modified}).status_code == 304
    # Atom and RSS are two versions: one's tag never matches the other.
    assert client.get("/api/v1/feed?q=cats&format=rss", headers={"If-None-Match": etag}).status_code == 200

    store_site.store.save_post(make_post(4, "a new cat"), ["cats"])
    changed = client.get("/api/v1/feed?q=cats", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert feedparser.parse(changed.data).entries[0].title == "@someone: a new cat"


def test_a_deleted_post_changes_the_feed_version(store_site: Harness) -> None:
    _store_cats(store_site)
    etag = store_site.client.get("/api/v1/feed?q=cats").headers["ETag"]
    store_site.store.delete_post("x:3")
    answer = store_site.client.get("/api/v1/feed?q=cats", headers={"If-None-Match": etag})
    assert answer.status_code == 200
    assert len(feedparser.parse(answer.data).entries) == 2


def test_polling_a_feed_keeps_the_query_watched(store_site: Harness) -> None:
    store_site.client.get("/api/v1/feed?q=%23nyc")
    assert [w.key for w in store_site.store.watched()] == ["#nyc"]


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("/api/v1/feed?q=cats&format=json", "format must be atom or rss (got 'json')"),
        ("/api/v1/feed", "the q parameter is required: /api/v1/feed?q=QUERY"),
        ("/api/v1/feed?q=(cats", "("),
    ],
)
def test_bad_feed_requests_answer_400_with_the_reason(store_site: Harness, url: str, message: str) -> None:
    answer = store_site.client.get(url)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]["message"]


def test_the_results_page_announces_its_feed(store_site: Harness) -> None:
    page = store_site.client.get("/results/%23nyc").get_data(as_text=True)
    head = page.split("</head>", 1)[0]
    assert (
        '<link rel="alternate" type="application/atom+xml" title="#nyc (Atom)" '
        'href="http://localhost/api/v1/feed?q=%23nyc">' in head
    )
    assert 'type="application/rss+xml"' in head
    assert 'id="feed-link" href="/api/v1/feed?q=%23nyc"' in page


def test_feed_and_embed_links_lead_to_the_public_address_when_it_is_set(settings: Settings, tmp_path: Path) -> None:
    public = settings.with_overrides(public_url="https://wall.example.org")
    with running_app(public, tmp_path, start_ingester=False) as site:
        _store_cats(site)
        parsed = feedparser.parse(site.client.get("/api/v1/feed?q=cats&format=rss").data)
        embed = site.client.get("/embed?q=cats").get_data(as_text=True)
    assert parsed.feed.link == "https://wall.example.org/results/cats"
    assert [link.href for link in parsed.feed.links if link.rel == "self"] == [
        "https://wall.example.org/api/v1/feed?q=cats&format=rss"
    ]
    assert 'href="https://wall.example.org/results/cats"' in embed
    assert 'href="http://localhost' not in embed
