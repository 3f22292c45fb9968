"""Export: every stored post of a query, newest first, as CSV or JSON lines, streamed in bounded batches."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from harness import Harness
from helpers import make_post
from twitterstream.models import Post
from twitterstream.web.feeds import EXPORT_BATCH

COLUMNS = [
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
]
# What breaks naive CSV: separators, quotes, every kind of line break, a formula, and Unicode beyond the BMP.
AWKWARD_TEXTS = [
    'commas, "quotes" and ""doubled"" quotes',
    "line one\nline two\r\nline three\rend",
    "=SUM(A1:A9) +1 -1 @cell",
    "emoji 🎉👩‍👩‍👧 RTL שלום zero\u200bwidth NBSP\u00a0é",
    "  leading and trailing spaces  ",
    "",
    "tab\tseparated; semicolon",
]


def _read_csv(data: bytes) -> list[dict[str, str]]:
    assert data.startswith("\ufeff".encode())  # the byte order mark spreadsheets need to read UTF-8
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _store(site: Harness, posts: list[Post], key: str = "cats") -> None:
    site.store.save_matches([(post, [key]) for post in posts])


def test_csv_round_trips_any_text_exactly(store_site: Harness) -> None:
    posts = [
        make_post(
            n + 1, text, username="ann", lang="en", hashtags=("cats", "Caturday"), media_urls=("https://i/1.jpg",)
        )
        for n, text in enumerate(AWKWARD_TEXTS)
    ]
    _store(store_site, posts)
    answer = store_site.client.get("/api/v1/export?q=cats&format=csv")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    rows = _read_csv(answer.data)
    assert list(rows[0]) == COLUMNS
    assert [row["text"] for row in rows] == AWKWARD_TEXTS[::-1]  # newest first
    newest = rows[0]
    assert newest == {
        "id": "7",
        "created_at": "2026-11-01T12:00:07.000Z",
        "source": "x",
        "author_id": "42",
        "author_username": "ann",
        "author_name": "Some One",
        "text": AWKWARD_TEXTS[6],
        "url": "https://x.com/ann/status/7",
        "lang": "en",
        "hashtags": "cats Caturday",
        "media_urls": "https://i/1.jpg",
    }


def test_jsonl_is_one_post_json_per_line_newest_first(store_site: Harness) -> None:
    posts = [make_post(n, text) for n, text in enumerate(AWKWARD_TEXTS, 1)]
    _store(store_site, posts)
    answer = store_site.client.get("/api/v1/export?q=cats&format=jsonl")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    lines = answer.get_data(as_text=True).split("\n")
    assert lines[-1] == ""  # every line ends with a newline, the last too
    assert [json.loads(line) for line in lines[:-1]] == [p.to_json() for p in reversed(posts)]


def test_an_export_is_a_download_named_after_the_query(store_site: Harness) -> None:
    answer = store_site.client.get("/api/v1/export", query_string={"q": '#NYC "big apple"', "format": "jsonl"})
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="twitterstream-nyc-big-apple-')
    assert disposition.endswith('Z.jsonl"')
    assert answer.headers["Cache-Control"] == "no-store"


def test_every_stored_post_is_exported_once_reading_the_store_in_batches(
    store_site: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = EXPORT_BATCH * 2 + 7
    _store(store_site, [make_post(n) for n in range(1, total + 1)])
    store = store_site.store
    reads: list[int] = []
    real_page = store.posts_page

    def counting_page(*args: Any, **kwargs: Any) -> Any:
        posts, mark = real_page(*args, **kwargs)
        reads.append(len(posts))
        return posts, mark

    monkeypatch.setattr(store, "posts_page", counting_page)
    answer = store_site.client.get("/api/v1/export?q=cats")
    assert answer.is_streamed
    rows = _read_csv(answer.data)
    assert [row["id"] for row in rows] == [str(n) for n in range(total, 0, -1)]
    assert reads == [EXPORT_BATCH, EXPORT_BATCH, 7]  # never more than a batch in memory


def test_since_and_until_bound_the_export(store_site: Harness) -> None:
    _store(store_site, [make_post(n) for n in range(1, 11)])
    client = store_site.client
    window = {"q": "cats", "since": "2026-11-01T12:00:03Z", "until": "2026-11-01T13:00:08+01:00"}
    rows = _read_csv(client.get("/api/v1/export", query_string=window).data)
    assert [row["id"] for row in rows] == ["7", "6", "5", "4", "3"]  # since inclusive, until exclusive
    # An unencoded "+" of an offset arrives as a space: still read as the offset it was.
    answer = client.get("/api/v1/export?q=cats&until=2026-11-01T13:00:02+01:00")
    assert [row["id"] for row in _read_csv(answer.data)] == ["1"]
    day = client.get("/api/v1/export?q=cats&since=2026-11-02")
    assert _read_csv(day.data) == []


def test_exporting_an_unwatched_query_watches_nothing_and_has_a_header(store_site: Harness) -> None:
    answer = store_site.client.get("/api/v1/export?q=%23nothing")
    assert answer.status_code == 200
    assert answer.data.decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]
    assert store_site.client.get("/api/v1/export?q=%23nothing&format=jsonl").data == b""
    assert store_site.store.watched() == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ("format=xlsx", "format must be csv or jsonl (got 'xlsx')"),
        ("since=yesterday", "since must be an ISO 8601 date or time such as 2026-01-31T12:00:00Z (got 'yesterday')"),
        ("until=2026-13-01", "until must be an ISO 8601 date or time"),
        ("since=0001-01-01T00:00:00%2B05:00", "since must be an ISO 8601 date or time"),
        ("since=2026-02-01&until=2026-01-01", "since must be earlier than until"),
        ("q=", "Type something to watch"),
    ],
)
def test_bad_export_requests_answer_400_with_the_reason(store_site: Harness, params: str, message: str) -> None:
    query = "" if params.startswith("q=") else "q=cats&"
    answer = store_site.client.get(f"/api/v1/export?{query}{params}")
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]["message"]


def test_the_results_page_has_export_buttons(store_site: Harness) -> None:
    page = store_site.client.get("/results/%23nyc").get_data(as_text=True)
    assert 'id="export-csv" href="/api/v1/export?q=%23nyc&amp;format=csv" download>Export CSV</a>' in page
    assert 'id="export-jsonl" href="/api/v1/export?q=%23nyc&amp;format=jsonl" download>JSONL</a>' in page
