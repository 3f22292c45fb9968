"""Jetstream resume: v2 sequence numbers on the same host, times (rewound) elsewhere and on v1 hosts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fakes.jetstream import FakeJetstream, fake_did, make_post_event
from helpers import RecordingSink, running
from twitterstream.config import Settings
from twitterstream.sources.bluesky import REWIND_US, SEQ_CURSOR_MAX, STATE_NAME, BlueskySource, resume_from

DID = fake_did("carol.bsky.social")
NOW_US = time.time_ns() // 1000


def settings(*urls: str) -> Settings:
    return Settings(
        source="bluesky",
        bluesky_jetstream_urls=urls,
        bluesky_profile_url="http://127.0.0.1:9",
        bluesky_watchdog_seconds=5.0,
    )


@contextmanager
def source_on(*urls: str, state: dict[str, Any] | None = None) -> Iterator[RecordingSink]:
    sink = RecordingSink({STATE_NAME: state} if state is not None else None)
    with running(BlueskySource(settings(*urls), sink)):
        yield sink


def post(n: int, time_us: int | None = None) -> dict[str, Any]:
    return make_post_event(DID, f"3kpost{n:04d}", f"post {n}", time_us=time_us)


def rkeys(sink: RecordingSink) -> list[str]:
    return [p.id.rsplit("/", 1)[1] for p in sink.posts]


def wait_posts(sink: RecordingSink, count: int) -> None:
    sink.wait_for(lambda: len(sink.posts) >= count, message=f"{count} posts delivered")


def test_the_cursor_is_the_hosts_own_sequence_number_only_on_that_host() -> None:
    assert resume_from("ws://a", NOW_US, 42, "ws://a") == (42, True)
    assert resume_from("ws://b", NOW_US, 42, "ws://a") == (NOW_US - REWIND_US, False)  # another host: by time
    assert resume_from("ws://a", NOW_US, None, None) == (NOW_US - REWIND_US, False)  # a v1 host
    assert resume_from("ws://a", NOW_US - 7200 * 10**6, 42, "ws://a") == (None, False)  # too old: live
    assert resume_from("ws://a", None, None, None) == (None, False)


def test_a_v2_host_is_resumed_by_sequence_number_and_nothing_is_lost_or_doubled() -> None:
    with FakeJetstream(v2_cursor=True, first_seq=1000) as fake, source_on(fake.url) as sink:
        fake.wait_for_connections(1)
        sent = [fake.publish(post(n)) for n in range(3)]
        wait_posts(sink, 3)
        fake.drop_all()
        sent += [fake.publish(post(n)) for n in range(3, 5)]  # while it reconnects
        fake.wait_for_connections(1)
        sent.append(fake.publish(post(5)))
        wait_posts(sink, 6)
    assert rkeys(sink) == [f"3kpost{n:04d}" for n in range(6)]
    assert [r["cursor"] for r in fake.requests] == [None, 1002]  # inclusive: the last one came again, dropped
    assert sink.state[STATE_NAME] == {"time_us": sent[-1]["time_us"], "seq": 1005, "host": fake.url}


def test_a_failover_resumes_by_time_with_a_rewind_and_the_overlap_is_dropped() -> None:
    with (
        FakeJetstream(v2_cursor=True, first_seq=1000) as first,
        FakeJetstream(v2_cursor=True, first_seq=70_000) as second,
        source_on(first.url, second.url) as sink,
    ):
        first.wait_for_connections(1)
        for n in range(4):  # the same events reach both instances, numbered and timed by each
            first.publish(post(n))
            second.publish(post(n))
        wait_posts(sink, 4)
        first.refuse(503)
        first.drop_all()
        second.wait_for_connections(1)
        second.publish(post(4))
        first.publish(post(4))
        wait_posts(sink, 5)
    assert rkeys(sink) == [f"3kpost{n:04d}" for n in range(5)]  # the replayed overlap is not delivered twice
    cursor = second.requests[0]["cursor"]
    assert cursor >= SEQ_CURSOR_MAX  # a time: the first host's sequence numbers mean nothing here
    assert cursor == max_time(first) - REWIND_US
    assert second.sent == 5  # the four it replayed (the overlap, dropped) and the new one
    assert sink.state[STATE_NAME]["seq"] == 70_004  # saved when the source stopped
    assert sink.state[STATE_NAME]["host"] == second.url


def max_time(fake: FakeJetstream) -> int:
    return max(int(text.split('"time_us":', 1)[1].split(",", 1)[0]) for text in fake.history[:4])


def test_a_restart_resumes_on_the_saved_host_by_its_sequence_number() -> None:
    with FakeJetstream(v2_cursor=True) as other, FakeJetstream(v2_cursor=True, first_seq=300) as saved:
        events = [saved.publish(post(n)) for n in range(3)]
        state = {"time_us": events[1]["time_us"], "seq": events[1]["cursor"], "host": saved.url}
        with source_on(other.url, saved.url, state=state) as sink:
            wait_posts(sink, 2)
    assert rkeys(sink) == ["3kpost0001", "3kpost0002"]
    assert [r["cursor"] for r in saved.requests] == [301] and other.requests == []


def test_an_old_saved_state_of_a_time_alone_still_resumes_by_time() -> None:
    with FakeJetstream(v2_cursor=True) as fake:
        events = [fake.publish(post(n)) for n in range(2)]
        with source_on(fake.url, state={"time_us": events[1]["time_us"]}) as sink:
            wait_posts(sink, 2)
    assert fake.requests[0]["cursor"] == events[1]["time_us"] - REWIND_US
    assert sink.state[STATE_NAME] == {"time_us": events[1]["time_us"], "seq": 2, "host": fake.url}


def test_a_sequence_number_the_host_does_not_honour_is_dropped_for_a_time() -> None:
    """A v1 server reads a small cursor as a time long gone and replays its whole window."""
    with FakeJetstream(history=[post(0, time_us=NOW_US - 1800 * 10**6), post(1, time_us=NOW_US)]) as fake:
        state = {"time_us": NOW_US, "seq": 12, "host": fake.url}
        with source_on(fake.url, state=state) as sink:
            wait_posts(sink, 1)
            fake.wait_for(lambda: len(fake.requests) == 2)
            fake.publish(post(2))
            wait_posts(sink, 2)
    assert [r["cursor"] for r in fake.requests] == [12, NOW_US - REWIND_US]
    assert rkeys(sink) == ["3kpost0001", "3kpost0002"]  # not the half-hour-old one the sequence resume met
    assert sink.state[STATE_NAME]["seq"] is None


def test_another_instance_behind_the_same_url_is_caught_by_the_time_of_its_first_event() -> None:
    old = NOW_US - 600 * 10**6
    history = [post(0, time_us=old), post(1, time_us=NOW_US)]
    with (
        FakeJetstream(v2_cursor=True, history=history) as fake,
        source_on(fake.url, state={"time_us": NOW_US, "seq": 1, "host": fake.url}) as sink,
    ):
        wait_posts(sink, 1)
    assert [r["cursor"] for r in fake.requests] == [1, NOW_US - REWIND_US]
    assert rkeys(sink) == ["3kpost0001"]
