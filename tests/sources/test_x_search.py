"""Recent search spent carefully, over real HTTP against the fake X: each post it returns is billed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from fakes.x_api import FakeX
from fakes.x_posts import make_post
from fakes.x_usage import UsageMeter
from helpers import RecordingSink
from twitterstream.sources.x_client import XClient
from twitterstream.sources.x_search import RecentSearch
from twitterstream.sources.x_usage import CostGuard, UsageWatch

TOKEN = "test-token"


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX(bearer_token=TOKEN, usage=UsageMeter(project_cap=1_000, project_usage=0)) as f:
        for n in range(3):
            post, user = make_post(None, f"cats {n}")
            f.publish(post, users=[user], deliver=False)
        yield f


@contextmanager
def searcher(fake: FakeX, own_cap: int | None = None) -> Iterator[RecentSearch]:
    client = XClient(fake.base_url, TOKEN)
    usage = UsageWatch(CostGuard(own_cap), client.get_usage, RecordingSink(), lambda: None, lambda: None)
    usage.check()
    try:
        yield RecentSearch(client, usage, recent_window_seconds=3600)
    finally:
        client.close()


def test_a_query_searched_within_the_recent_window_is_not_searched_again(fake: FakeX) -> None:
    with searcher(fake) as search:
        first = search.backfill("cats", 10)
        assert len(first) == 3
        assert search.backfill("cats", 10) == []  # watched again soon after: what it found is stored already
        assert search.fill_gap("cats", None) == ([], False)  # a reconnect with nothing stored: not again either
        post, user = make_post(None, "cats 3")
        fake.publish(post, users=[user], deliver=False)
        newest = search.fill_gap("cats", first[0].id)  # a gap fill asks only for what came after
    assert fake.search_calls == 2
    assert [p.text for p in newest[0]] == ["cats 3"]
    assert fake.usage.posts_delivered == 4
    assert search.usage.guard.posts_read == 4


def test_no_search_at_the_cap(fake: FakeX) -> None:
    with searcher(fake, own_cap=3) as search:
        assert len(search.backfill("cats", 10)) == 3
        assert search.backfill("dogs", 10) == []
        assert search.fill_gap("cats", "1") == ([], False)
    assert fake.search_calls == 1
