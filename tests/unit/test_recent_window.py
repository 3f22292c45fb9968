"""The recent window: bounded by count and age, deletes honoured, newest first, indexed by term."""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import make_post
from query_posts import SETTINGS, posts, query_text
from twitterstream.ingest import RecentWindow, window
from twitterstream.models import Post
from twitterstream.query import Query, QueryError, parse


def test_the_window_keeps_the_last_posts_and_returns_matches_newest_first() -> None:
    recent = RecentWindow(max_posts=3, max_age=3600)
    for post_id in range(1, 6):
        recent.add(make_post(post_id, f"cats {post_id}"))
    assert len(recent) == 3
    assert [p.id for p in recent.newest_matches(parse("cats"), 10)] == ["5", "4", "3"]
    assert [p.id for p in recent.newest_matches(parse("cats"), 2)] == ["5", "4"]
    assert recent.newest_matches(parse("dogs"), 10) == []


def test_a_deleted_post_never_fills_a_page() -> None:
    recent = RecentWindow(max_posts=10, max_age=3600)
    for post_id in range(1, 4):
        recent.add(make_post(post_id, "cats"))
    recent.remove("x:2")
    recent.remove("x:unknown")
    assert [p.id for p in recent.newest_matches(parse("cats"), 10)] == ["3", "1"]


def test_old_posts_leave_the_window() -> None:
    recent = RecentWindow(max_posts=10, max_age=0)
    recent.add(make_post(1, "cats"))
    recent.add(make_post(2, "cats"))
    assert len(recent) <= 1


def test_posts_older_than_the_maximum_age_do_not_fill_even_without_newer_arrivals() -> None:
    recent = RecentWindow(max_posts=10, max_age=60)
    with mock.patch.object(window.time, "monotonic", return_value=1000.0):
        recent.add(make_post(1, "cats"))
    with mock.patch.object(window.time, "monotonic", return_value=1030.0):
        assert [p.id for p in recent.newest_matches(parse("cats"), 10)] == ["1"]
    with mock.patch.object(window.time, "monotonic", return_value=1061.0):
        assert recent.newest_matches(parse("cats"), 10) == []
    assert len(recent) == 0


def test_every_kind_of_term_finds_its_posts() -> None:
    recent = RecentWindow(max_posts=100, max_age=3600)
    recent.add(make_post(1, "plain words here", username="bob"))
    recent.add(make_post(2, "tagged #nyc", hashtags=("nyc",), mentions=("alice",), cashtags=("TWTR",)))
    recent.add(make_post(3, "a reply", reply_to=("carol",), urls=("https://example.com/page",)))
    recent.add(make_post(4, "new york new york", quoted_text="quoted kittens"))
    expected = {
        "words": ["1"],
        "#nyc": ["2"],
        "@alice": ["2"],
        "$twtr": ["2"],
        "from:bob": ["1"],
        "to:carol": ["3"],
        "url:example.com": ["3"],
        "kittens": ["4"],
        '"york new"': ["4"],
        "words OR kittens": ["4", "1"],
        "york -kittens": [],
        '"!!" OR reply': ["3"],  # a branch with no term: the whole window is looked at
    }
    for text, ids in expected.items():
        assert [p.id for p in recent.newest_matches(parse(text), 10)] == ids, text


def test_a_query_that_needs_many_slices_finds_the_same_posts() -> None:
    recent = RecentWindow(max_posts=1000, max_age=3600)
    for post_id in range(1, 1001):
        recent.add(make_post(post_id, f"cats {'dogs' if post_id % 97 == 0 else 'mice'} {post_id}"))
    with mock.patch.object(window, "SLICE", 16):
        found = recent.newest_matches(parse("cats dogs"), 5)
        scanned = recent.newest_matches(parse('"!!" OR dogs'), 5)
    assert [p.id for p in found] == ["970", "873", "776", "679", "582"]
    assert scanned == found


def test_the_index_forgets_what_leaves_the_window() -> None:
    recent = RecentWindow(max_posts=50, max_age=3600)
    for post_id in range(1, 5001):
        recent.add(make_post(post_id, f"common unique{post_id} words"))
    assert len(recent) == 50
    # 50 posts of 4 terms (3 words and the author): what the index holds stays in proportion to the window
    assert recent.index_size() <= 2 * 50 * 4 + 4 * window.COMPACT_AT
    assert [p.id for p in recent.newest_matches(parse("unique4990"), 10)] == ["4990"]
    assert recent.newest_matches(parse("unique10"), 10) == []


def brute_force(posts_in_window: deque[Post], deleted: set[str], query: Query, limit: int) -> list[Post]:
    """What the window must answer: every post, newest first, evaluated with the query's matcher."""
    return [p for p in reversed(posts_in_window) if p.key not in deleted and query.matches(p)][:limit]


operation = st.one_of(
    st.tuples(st.just("add"), posts, st.integers(0, 30)),
    st.tuples(st.just("delete"), st.just(None), st.integers(0, 30)),
)


@settings(SETTINGS, max_examples=120)
@given(
    st.lists(operation, max_size=40),
    st.lists(query_text, min_size=1, max_size=6),
    st.integers(1, 12),
    st.integers(1, 6),
    st.sampled_from([1, 3, 256]),
    st.sampled_from([1, 32]),
)
def test_indexed_matches_are_exactly_what_scanning_every_post_finds(
    operations: list[tuple[str, Post | None, int]],
    texts: list[str],
    max_posts: int,
    limit: int,
    slice_size: int,
    compact_at: int,
) -> None:
    recent = RecentWindow(max_posts, 3600)
    model: deque[Post] = deque()
    deleted: set[str] = set()
    with mock.patch.object(window, "SLICE", slice_size), mock.patch.object(window, "COMPACT_AT", compact_at):
        for kind, post, number in operations:
            key = f"x:{number}"  # a few ids, so that copies of one post and deletes of stored ones happen
            if kind == "delete":
                recent.remove(key)
                if any(p.key == key for p in model):
                    deleted.add(key)
                continue
            assert post is not None
            post = replace(post, id=str(number))
            recent.add(post)
            model.append(post)
            if len(model) > max_posts:
                gone = model.popleft()
                if all(p.key != gone.key for p in model):
                    deleted.discard(gone.key)
        assert len(recent) == len(model)
        for text in texts:
            try:
                query = parse(text)
            except QueryError:
                continue
            assert recent.newest_matches(query, limit) == brute_force(model, deleted, query, limit), query.key
