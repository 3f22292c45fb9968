"""The recent window: bounded by count and age, deletes honoured, newest first."""

from __future__ import annotations

from helpers import make_post
from twitterstream.ingest import RecentWindow
from twitterstream.query import parse


def test_the_window_keeps_the_last_posts_and_returns_matches_newest_first() -> None:
    window = RecentWindow(max_posts=3, max_age=3600)
    for post_id in range(1, 6):
        window.add(make_post(post_id, f"cats {post_id}"))
    assert len(window) == 3
    assert [p.id for p in window.newest_matches(parse("cats"), 10)] == ["5", "4", "3"]
    assert [p.id for p in window.newest_matches(parse("cats"), 2)] == ["5", "4"]
    assert window.newest_matches(parse("dogs"), 10) == []


def test_a_deleted_post_never_fills_a_page() -> None:
    window = RecentWindow(max_posts=10, max_age=3600)
    for post_id in range(1, 4):
        window.add(make_post(post_id, "cats"))
    window.remove("x:2")
    window.remove("x:unknown")
    assert [p.id for p in window.newest_matches(parse("cats"), 10)] == ["3", "1"]


def test_old_posts_leave_the_window() -> None:
    window = RecentWindow(max_posts=10, max_age=0)
    window.add(make_post(1, "cats"))
    window.add(make_post(2, "cats"))
    assert len(window) <= 1
