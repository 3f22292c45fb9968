"""Property: whatever bytes a stored post carries in any field, pages and live streams show them only as text.

The post's text, author name, username, URL, language and id are generated from any Unicode (control
characters, ``</script>``, CR LF, quotes, entities...). The results page, parsed back, holds exactly the
same elements as for a harmless post and the original values as its text and attribute values; the live
stream, parsed back the way EventSource does (lines end at CR, LF or CRLF), holds exactly one event with the
original data, or none at all when the id could not be framed.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import Settings
from twitterstream.models import Author, Post

NASTY = [
    "</script><script>alert(1)</script>",
    "</p><h1>owned</h1>",
    '"><img src=x onerror=alert(1)>',
    "'; background:url(https://tracker.example/p.gif)",
    "\r\n\r\nevent: embed\ndata: {}\n\n",
    "\n\nid: 9\r",
    "\x00",
    "\u2028\u2029\x85\x0b\x0c",
    "&amp;lt;b&amp;gt; &#60; &lt;",
    "{{ 7*7 }} {% raw %}",
    "<!-- -->",
    "]]>",
    "javascript:alert(1)",
    'https://x.com/a/status/1" onmouseover="alert(1)',
]
ANY_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
FIELD = st.one_of(ANY_TEXT, st.sampled_from(NASTY), st.lists(st.sampled_from(NASTY), max_size=3).map("".join))
URL = st.one_of(FIELD, FIELD.map(lambda tail: "https://x.com/" + tail))

SETTINGS = settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_queries = itertools.count()


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    settings = settings.with_overrides(new_queries_per_minute=10_000)  # every example is a new query
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        yield harness


class _Article(HTMLParser):
    """The start tags (with attributes) and the text of each classed element of the page's one post."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: dict[str, str] = {}
        self._inside = 0
        self._open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "article" and "post" in (attributes.get("class") or "").split():
            self._inside += 1
        if self._inside:
            self.tags.append((tag, attributes))
            self._open.append(attributes.get("class") or tag)

    def handle_endtag(self, tag: str) -> None:
        if self._inside:
            self._open.pop()
            if tag == "article":
                self._inside -= 1

    def handle_data(self, data: str) -> None:
        if self._inside and self._open:
            self.text[self._open[-1]] = self.text.get(self._open[-1], "") + data


def page_of(site: Harness, post: Post) -> _Article:
    key = f"zq{next(_queries)}"
    site.store.save_post(post, [key])
    answer = site.client.get(f"/results/{key}")
    site.store.delete_post(post.key)  # the next example may use the same id
    assert answer.status_code == 200
    article = _Article()
    article.feed(answer.get_data(as_text=True))
    article.close()
    return article


def stream_of(site: Harness, post: Post) -> bytes:
    """What ``/api/v1/stream`` sends a new viewer of a query holding only ``post``: status, then backlog."""
    key = f"zq{next(_queries)}"
    site.store.save_post(post, [key])
    answer = site.client.get("/api/v1/stream", query_string={"q": key}, buffered=False)
    chunks = iter(answer.response)
    try:
        status, backlog = next(chunks), next(chunks)
    finally:
        answer.close()
        site.store.delete_post(post.key)  # the next example may use the same id
    assert status.startswith(b"retry: 2000\nevent: status\n")
    return bytes(backlog)


def parse_sse(raw: bytes) -> list[dict[str, Any]]:
    """Events as EventSource reads them: any of CR, LF, CRLF ends a line; a blank line ends an event."""
    events, current = [], {}
    for line in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
        if not line:
            if current:
                events.append(current)
            current = {}
            continue
        name, _, value = line.decode().partition(":")
        current[name] = value.removeprefix(" ")
    assert not current, "an event without its blank line"
    return events


def built(text: str, name: str, username: str, url: str, lang: str, post_id: str) -> Post:
    author = Author("42", username or None, name or None)
    return replace(make_post(1), id=post_id or "0", text=text, url=url, lang=lang or None, author=author)


def harmless(post: Post) -> Post:
    """The same post with harmless values where the template decides on presence (to compare the shape)."""
    return replace(
        post,
        id="1",
        text="t",
        url="https://x.com/a" if post.url.startswith("https://") else "",
        lang="l" if post.lang else None,
        author=Author(
            id="42",
            username="u" if post.author.username else None,
            name="n" if post.author.name else None,
        ),
    )


@SETTINGS
@given(text=FIELD, name=FIELD, username=FIELD, url=URL, lang=FIELD, post_id=FIELD)
def test_any_field_reaches_the_page_only_as_text(
    site: Harness, text: str, name: str, username: str, url: str, lang: str, post_id: str
) -> None:
    post = built(text, name, username, url, lang, post_id)
    article = page_of(site, post)
    shape = page_of(site, harmless(post))
    assert [(tag, sorted(attrs)) for tag, attrs in article.tags] == [(t, sorted(a)) for t, a in shape.tags]

    attributes = dict(article.tags[0][1])
    assert attributes["data-id"] == post.id
    assert article.text.get("text", "") == text
    who = name or username or "42"
    assert article.text["name"] == who
    if username:
        assert article.text["handle"] == "@" + username
    links = [attrs["href"] for tag, attrs in article.tags if tag == "a"]
    assert links == ([url] if url.startswith("https://") else [])
    langs = [attrs["lang"] for tag, attrs in article.tags if "lang" in attrs]
    assert langs == ([lang] if lang else [])


@SETTINGS
@given(text=FIELD, name=FIELD, username=FIELD, url=URL, lang=FIELD, post_id=FIELD)
def test_any_field_reaches_the_live_stream_only_as_text(
    site: Harness, text: str, name: str, username: str, url: str, lang: str, post_id: str
) -> None:
    post = built(text, name, username, url, lang, post_id)
    events = parse_sse(stream_of(site, post))
    if any(c in post.id for c in "\r\n\0"):
        assert events == []  # an id that cannot be framed: the event is skipped, nothing else is sent
        return
    [event] = events
    assert set(event) == {"event", "id", "data"}
    assert event["event"] == "post" and event["id"] == post.id
    data = orjson.loads(event["data"])
    assert data.pop("queries")[0].startswith("zq")  # the key of the query it matched
    assert data == post.to_json()
