"""The store's part of the per-client limits, on SQLite and Redis alike: rate counts shared by every process on
the store, and open-stream places that are given back at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from limits import RateLimitItemPerMinute
from limits.strategies import FixedWindowRateLimiter

from twitterstream.store import Store
from twitterstream.store.redis import RedisStore
from twitterstream.store.sqlite import SQLiteStore


@contextmanager
def another_process(store: Store) -> Iterator[Store]:
    """A second handle on the same store, as another web worker or replica has."""
    other: Store = SQLiteStore(store.path) if isinstance(store, SQLiteStore) else RedisStore(store.url)  # type: ignore[attr-defined]
    try:
        yield other
    finally:
        other.close()


def test_rate_counts_are_per_client_and_shared_by_every_process_on_the_store(any_store: Store) -> None:
    three = RateLimitItemPerMinute(3)
    here = FixedWindowRateLimiter(any_store.rate_limit_storage())
    assert [here.hit(three, "new-queries", "127.0.0.2") for _ in range(2)] == [True, True]
    with another_process(any_store) as other:
        there = FixedWindowRateLimiter(other.rate_limit_storage())
        assert there.hit(three, "new-queries", "127.0.0.2")
        assert not there.hit(three, "new-queries", "127.0.0.2")
        assert there.hit(three, "new-queries", "127.0.0.3")  # another client has its own count
    assert not here.hit(three, "new-queries", "127.0.0.2")
    stats = here.get_window_stats(three, "new-queries", "127.0.0.2")
    assert stats.remaining == 0
    assert time.time() < stats.reset_time <= time.time() + 60


def test_a_client_holds_at_most_its_places_and_a_released_one_is_free_at_once(any_store: Store) -> None:
    assert [any_store.take_stream_place("127.0.0.2", f"s{n}", 2, 60) for n in range(3)] == [True, True, False]
    assert any_store.take_stream_place("127.0.0.3", "s0", 2, 60)  # places are per client
    with another_process(any_store) as other:
        assert not other.take_stream_place("127.0.0.2", "t0", 2, 60)  # another replica sees them
        any_store.release_stream_place("127.0.0.2", "s0")
        assert other.take_stream_place("127.0.0.2", "t0", 2, 60)
    assert not any_store.take_stream_place("127.0.0.2", "s3", 2, 60)


def test_taking_a_held_place_again_does_not_count_it_twice(any_store: Store) -> None:
    assert any_store.take_stream_place("127.0.0.2", "s0", 1, 60)
    assert any_store.take_stream_place("127.0.0.2", "s0", 1, 60)
    assert not any_store.take_stream_place("127.0.0.2", "s1", 1, 60)


def test_places_lapse_unless_renewed(any_store: Store) -> None:
    # a ttl of 0 has lapsed by the next call: the places of a process that died without a word
    assert any_store.take_stream_place("127.0.0.2", "gone", 1, 0)
    assert any_store.take_stream_place("127.0.0.2", "open", 1, 60)
    any_store.renew_stream_places([("127.0.0.2", "open")], 0)  # its renewal is what keeps it
    assert any_store.take_stream_place("127.0.0.2", "next", 1, 60)
    any_store.renew_stream_places([("127.0.0.2", "next")], 60)
    assert not any_store.take_stream_place("127.0.0.2", "more", 1, 60)
    any_store.renew_stream_places([], 60)  # nothing to renew: no error
