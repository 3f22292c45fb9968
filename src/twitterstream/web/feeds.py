"""Posts going out: a query's Atom/RSS feed and its export as CSV or JSON lines (streamed, as a download)."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import chain, islice
from typing import Any

import orjson
from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, request
from markupsafe import escape
from werkzeug.http import is_resource_modified

from twitterstream.models import Post, format_time
from twitterstream.web.api import BadRequest, bad_request
from twitterstream.web.client_limits import client_address
from twitterstream.web.context import (
    PAGE_VIEW_HOLDER,
    get_limits,
    get_settings,
    get_store,
    public_url_for,
    this_app,
    wake_ingester,
)
from twitterstream.web.feed_params import format_param, query_param, window_params
from twitterstream.web.moderated import get_screen

bp = Blueprint("feeds", __name__, url_prefix="/api/v1")
bp.register_error_handler(BadRequest, bad_request)

#: Entries in a feed: the newest posts of the query.
FEED_ENTRIES = 20
#: Posts read from the store at a time while exporting (memory stays constant however many are stored).
EXPORT_BATCH = 500
FEED_TYPES = {"atom": "application/atom+xml; charset=utf-8", "rss": "application/rss+xml; charset=utf-8"}
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson; charset=utf-8"}
CSV_COLUMNS = (
    "id",
    "created_at",
    "source",
    "author_id",
    "author_username",
    "author_name",
    "text",
    "url",
    "lang",
    "hashtags",
    "media_urls",
)
#: Characters XML 1.0 cannot carry at all (a post's text may hold them): dropped from feeds.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@bp.get("/feed")
def feed() -> Response:
    """The newest posts of a query as Atom (default) or RSS; 304 when the reader has this version.

    A reader polling the feed keeps the query watched, as a page view does.
    """
    query = query_param("/api/v1/feed")
    kind = format_param(("atom", "rss"))
    store = get_store()
    get_limits().admit_query(query.key, client_address())  # 429 or 503 for a new query over the limits
    store.watch(query.key, query.text, PAGE_VIEW_HOLDER, 0, get_settings().watch_grace_seconds)
    wake_ingester(this_app())
    # The newest event of the query changes whenever a post arrives or goes: that is the feed's version.
    etag = hashlib.sha1(f"{kind}\0{query.key}\0{store.head_cursor(query.key)}".encode()).hexdigest()[:32]
    newest = get_screen().latest(query.key, 1)  # what an audience may see (moderation)
    last_modified = newest[0].created_at.replace(microsecond=0) if newest else None
    if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
        response = Response(status=304)
    else:
        posts = get_screen().latest(query.key, FEED_ENTRIES)
        body = _render_feed(query.key, query.text, kind, posts)
        response = Response(body, content_type=FEED_TYPES[kind])
    response.set_etag(etag)
    response.last_modified = last_modified
    response.cache_control.no_cache = True  # may be kept, but asked again (cheaply: a 304) every time
    return response


def _render_feed(title: str, text: str, kind: str, posts: list[Post]) -> bytes:
    page = public_url_for("main.results", query=text)
    public = get_settings().public_url
    self_url = public + request.full_path.rstrip("?") if public else request.url
    generator = FeedGenerator()
    generator.id(page)
    generator.title(_xml_text(f"TwitterStream: {title}"))
    generator.description(_xml_text(f"Public posts matching {title}, newest first"))
    generator.link(href=self_url, rel="self")
    generator.link(href=page, rel="alternate")  # after "self": RSS's channel link is the last one given
    generator.generator("TwitterStream")
    generator.updated(posts[0].created_at if posts else datetime.now(UTC))
    if kind == "rss":
        generator.load_extension("dc")
    for post in posts:
        entry = generator.add_entry(order="append")
        entry.id(post.url or f"{post.source}:{post.id}")
        entry.guid(post.url or f"{post.source}:{post.id}", permalink=bool(post.url))
        entry.title(_xml_text(_entry_title(post)))
        if post.url:
            entry.link(href=post.url, rel="alternate")
        entry.published(post.created_at)
        entry.updated(post.created_at)
        author = _xml_text(post.author.name or post.author.username or post.author.id)
        if kind == "rss":
            entry.dc.dc_creator(author)
            entry.description(_entry_html(post))
        else:
            entry.author(name=author)
            entry.content(_entry_html(post), type="html")
    rendered: bytes = generator.rss_str(pretty=False) if kind == "rss" else generator.atom_str(pretty=False)
    return rendered


def _entry_title(post: Post) -> str:
    who = f"@{post.author.username}" if post.author.username else (post.author.name or "someone")
    line = " ".join(post.text.split())
    return f"{who}: {line[:97]}…" if len(line) > 100 else f"{who}: {line or '(no text)'}"


def _entry_html(post: Post) -> str:
    """The post's text, escaped (never the service's HTML), with line breaks; then links to its media."""
    parts = [f"<p>{escape(_xml_text(post.text))}</p>".replace("\n", "<br>\n")]
    for number, url in enumerate(post.media_urls, 1):
        parts.append(f'<p><a href="{escape(_xml_text(url))}">media {number}</a></p>')
    return "\n".join(parts)


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


@bp.get("/export")
def export() -> Response:
    """Every stored post of a query, newest first, as a CSV or JSON-lines download, streamed in batches.

    Exporting watches nothing: it writes what the store holds (the newest ``keep_per_query`` per query).
    """
    query = query_param("/api/v1/export")
    kind = format_param(("csv", "jsonl"))
    since, until = window_params()
    posts = get_screen().screened(get_store().iter_posts(query.key, EXPORT_BATCH, since, until), EXPORT_BATCH)
    first = list(islice(posts, 1))  # read the first batch now: a store that is down answers 503, not a cut file
    rows = chain(first, posts)
    body = _csv_chunks(rows) if kind == "csv" else _jsonl_chunks(rows)
    response = Response(body, content_type=EXPORT_TYPES[kind], direct_passthrough=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    response.headers["Content-Disposition"] = f'attachment; filename="twitterstream-{_slug(query.key)}-{stamp}.{kind}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _csv_chunks(posts: Iterable[Post]) -> Iterator[bytes]:
    """RFC 4180 CSV in UTF-8 with a byte order mark (spreadsheets then read any Unicode right)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff".encode() + _drain(buffer)
    for batch in _batches(posts, EXPORT_BATCH):
        writer.writerows(_csv_row(post) for post in batch)
        yield _drain(buffer)


def _csv_row(post: Post) -> list[Any]:
    author = post.author
    return [
        post.id,
        format_time(post.created_at),
        post.source,
        author.id,
        author.username or "",
        author.name or "",
        post.text,
        post.url,
        post.lang or "",
        " ".join(post.hashtags),
        " ".join(post.media_urls),
    ]


def _jsonl_chunks(posts: Iterable[Post]) -> Iterator[bytes]:
    for batch in _batches(posts, EXPORT_BATCH):
        yield b"".join(orjson.dumps(post.to_json()) + b"\n" for post in batch)


def _batches(posts: Iterable[Post], size: int) -> Iterator[list[Post]]:
    iterator = iter(posts)
    while batch := list(islice(iterator, size)):
        yield batch


def _drain(buffer: io.StringIO) -> bytes:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text.encode()


def _slug(text: str) -> str:
    """A file-name-safe form of a query (ASCII letters, digits, dashes), at most 40 characters."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:40].strip("-") or "query"
