"""Mastodon without a token: the tag-timeline poller against fake instances, on a clock the test moves."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from fakes.mastodon import FakeMastodon, hashtag_link
from helpers import RecordingSink, running
from twitterstream.config import ConfigError, Settings, load_settings
from twitterstream.query import parse
from twitterstream.sources.identifiers import InvalidPost
from twitterstream.sources.mastodon import MastodonSource
from twitterstream.sources.mastodon_poll import (
    CATCH_UP_PAGES,
    NEEDS_TOKEN,
    NO_HASHTAG_QUERY,
    STATE_NAME,
    TagTimelinePoller,
    hashtag_cover,
)
from twitterstream.status import SourceState


class ProblemSink(RecordingSink):
    """A RecordingSink that also keeps the query problems a source sets."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        super().__init__(state)
        self.problems: dict[str, str | None] = {}

    def set_query_problem(self, query_key: str, problem: str | None) -> None:
        self.problems[query_key] = problem


class Clock:
    """Epoch seconds that move only when the test says so."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Poller:
    """A TagTimelinePoller on a test clock, with what it reported."""

    def __init__(self, urls: list[str], sink: ProblemSink | None = None, poll_seconds: float = 10.0) -> None:
        self.sink = sink or ProblemSink()
        self.clock = Clock()
        self.reports: list[tuple[SourceState, str, float | None]] = []
        self.invalid: list[InvalidPost] = []
        self.poller = TagTimelinePoller(
            urls,
            self.sink,
            poll_seconds=poll_seconds,
            on_invalid=self.invalid.append,
            report=lambda state, reason, retry_at: self.reports.append((state, reason, retry_at)),
            clock=self.clock,
        )

    def watch(self, *queries: str) -> None:
        self.poller.set_queries({parse(q).key: parse(q) for q in queries})

    def step(self, advance: float = 0.0) -> float:
        self.clock.now += advance
        return self.poller.step()

    def delivered(self) -> list[str]:
        return [post.id for post in self.sink.posts]

    def close(self) -> None:
        for instance in self.poller.instances:
            instance.http.close()


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    with FakeMastodon() as fake:
        yield fake


def tagged(fake: FakeMastodon, tag: str, count: int = 1, **fields: Any) -> list[dict[str, Any]]:
    statuses = [
        fake.make_status(f"<p>post {n} {hashtag_link(tag, fake.public_url)}</p>", tags=[tag], **fields)
        for n in range(count)
    ]
    for status in statuses:
        fake.publish(status)
    return statuses


def tag_requests(fake: FakeMastodon) -> list[tuple[str, dict[str, str]]]:
    return [(r.path, r.params) for r in fake.requests if r.path.startswith("/api/v1/timelines/tag/")]


# -- which queries can be followed ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "cover"),
    [
        ("#Cats", {"cats"}),
        ("#cats lang:fr", {"cats"}),
        ("#a OR #b", {"a", "b"}),
        ("(#a OR #b) #c", {"c"}),
        ("(#a OR #b) dogs", {"a", "b"}),
        ("#a OR cats", None),
        ("cats", None),
        ("-#a dogs", None),
    ],
)
def test_a_query_is_followed_by_hashtags_only_when_every_match_carries_one(query: str, cover: set[str] | None) -> None:
    assert hashtag_cover(parse(query).tree) == (frozenset(cover) if cover is not None else None)


def test_a_query_without_a_hashtag_is_told_it_needs_a_token_and_nothing_is_polled(fake: FakeMastodon) -> None:
    poller = Poller([fake.base_url])
    try:
        poller.watch("cats", "#a OR cats")
        poller.step()
        assert poller.sink.problems == {"cats": NEEDS_TOKEN, "#a OR cats": NEEDS_TOKEN}
        assert "needs MASTODON_ACCESS_TOKEN on Mastodon" in NEEDS_TOKEN
        assert "(without a token only #hashtag queries can be followed)" in NEEDS_TOKEN
        assert poller.reports[-1][:2] == (SourceState.IDLE, NO_HASHTAG_QUERY)
        assert fake.requests == []
        poller.watch("cats #Dogs")  # a hashtag now: the problem is cleared
        assert poller.sink.problems["cats #dogs"] is None
    finally:
        poller.close()


# -- paging -----------------------------------------------------------------------------------------------
def test_the_first_poll_reads_the_newest_page_and_then_pages_forward_with_min_id(fake: FakeMastodon) -> None:
    old = tagged(fake, "cats", 3)
    tagged(fake, "dogs", 2)
    poller = Poller([fake.base_url])
    try:
        poller.watch("#Cats")
        poller.step()
        assert poller.delivered() == [s["id"] for s in old]  # oldest first, no token sent
        assert tag_requests(fake) == [("/api/v1/timelines/tag/cats", {"limit": "40"})]
        assert "authorization" not in fake.requests[-1].headers
        new = tagged(fake, "cats", 2)
        poller.step(advance=9.0)  # not due yet: every 10 s
        assert len(tag_requests(fake)) == 1
        poller.step(advance=1.0)
        assert tag_requests(fake)[-1][1] == {"limit": "40", "min_id": old[-1]["id"]}
        assert poller.delivered() == [s["id"] for s in old + new]
        assert poller.reports[-1][:2] == (
            SourceState.CONNECTED,
            "polling #cats on " + fake.base_url[7:] + " (every 10 s)",
        )
        assert poller.sink.state[STATE_NAME] == {"min_id": {fake.base_url: {"cats": new[-1]["id"]}}}
    finally:
        poller.close()


def test_a_backlog_is_read_page_after_page_then_skipped_when_too_long(fake: FakeMastodon) -> None:
    first = tagged(fake, "cats")
    poller = Poller([fake.base_url])
    try:
        poller.watch("#cats")
        poller.step()
        backlog = tagged(fake, "cats", 40 * CATCH_UP_PAGES + 5)
        delays = [10.0]
        for _ in range(CATCH_UP_PAGES):
            delays.append(poller.step(advance=delays[-1]))
        poller.step(advance=delays[-1])
        min_ids = [params.get("min_id") for _, params in tag_requests(fake)]
        assert min_ids[1:] == [first[0]["id"]] + [backlog[40 * n - 1]["id"] for n in range(1, CATCH_UP_PAGES)] + [None]
        assert all(d < 10.0 for d in delays[1:])  # full pages follow at the rate limit's pace, not every 10 s
        assert poller.delivered()[: 1 + 40 * CATCH_UP_PAGES] == [
            s["id"] for s in first + backlog[: 40 * CATCH_UP_PAGES]
        ]
        assert poller.delivered()[1 + 40 * CATCH_UP_PAGES :] == [s["id"] for s in backlog[-5:]]
    finally:
        poller.close()


def test_the_newest_ids_are_saved_and_a_restart_goes_on_from_them(fake: FakeMastodon) -> None:
    seen = tagged(fake, "cats", 2)
    sink = ProblemSink({STATE_NAME: {"min_id": {fake.base_url: {"cats": seen[-1]["id"]}}}})
    missed = tagged(fake, "cats", 2)
    poller = Poller([fake.base_url], sink)
    try:
        poller.poller.load(sink.load_state(STATE_NAME))
        poller.watch("#cats")
        poller.step()
        assert tag_requests(fake)[0][1]["min_id"] == seen[-1]["id"]
        assert poller.delivered() == [s["id"] for s in missed]
    finally:
        poller.close()


# -- rate limits ------------------------------------------------------------------------------------------
def test_requests_are_spaced_so_the_rate_limit_window_lasts_and_a_429_waits_for_the_reset() -> None:
    with FakeMastodon(rate_limit=6, rate_window=300) as fake:
        tagged(fake, "a")
        tagged(fake, "b")
        poller = Poller([fake.base_url], poll_seconds=1.0)
        try:
            poller.watch("#a", "#b")
            delay = poller.step()  # remaining 5, one kept in reserve: the window's ~300 s over 4 requests
            assert 70 < delay <= 76
            poller.step(advance=delay - 1)
            assert len(tag_requests(fake)) == 1  # not before the spacing is over
            for _ in range(4):  # remaining 4, 3, 2, 1: the last spare request waits for the reset
                delay = poller.step(advance=delay)
            assert len(tag_requests(fake)) == 5
            assert 280 < poller.poller.instances[0].ready_at - poller.clock.now <= 301
            fake.rate_limit = 4  # another client on this IP used the rest: the next request gets a 429
            poller.step(advance=delay)
            assert [r.path for r in fake.requests][-1].startswith("/api/v1/timelines/tag/")
            state, reason, _ = poller.reports[-1]
            assert state == SourceState.RECONNECTING and "429 Too many requests" in reason
            waited = poller.poller.instances[0].ready_at - poller.clock.now
            assert 280 < waited <= 301  # until the X-RateLimit-Reset the 429 carried
            poller.step(advance=waited - 1)
            assert len(tag_requests(fake)) == 6
            fake.reset_rate_limit()
            tagged(fake, "a")
            delay = poller.step(advance=1)
            assert len(tag_requests(fake)) == 7
            assert poller.reports[-1][0] == SourceState.CONNECTED
            poller.step(advance=delay)  # the hashtag the 429 held back went first; now the other
            assert len(tag_requests(fake)) == 8
            assert len(poller.delivered()) == 3
        finally:
            poller.close()


# -- several instances ------------------------------------------------------------------------------------
def test_two_instances_are_polled_and_a_status_on_both_is_delivered_once() -> None:
    with FakeMastodon(public_url="https://one.example") as one, FakeMastodon(public_url="https://two.example") as two:
        shared = one.make_status("<p>hello #cats</p>", acct="bob@elsewhere.example", tags=["cats"])
        one.publish(shared)
        copy = two.federate(shared)
        only_two = tagged(two, "cats")
        poller = Poller([one.base_url, two.base_url])
        try:
            poller.watch("#cats")
            poller.step()
            assert poller.delivered() == [shared["id"], only_two[0]["id"]]
            assert copy["id"] != shared["id"] and copy["uri"] == shared["uri"]
            assert len(tag_requests(one)) == len(tag_requests(two)) == 1
            later = one.make_status("<p>#cats again</p>", acct="bob@elsewhere.example", tags=["cats"])
            one.publish(later)
            later_copy = two.federate(later)
            poller.step(advance=10)
            poller.step(advance=10)
            assert poller.delivered()[2:] == [later["id"]]  # once, from the first to answer
            assert tag_requests(one)[-1][1]["min_id"] == later["id"]  # each instance pages by its own ids
            assert tag_requests(two)[-1][1]["min_id"] == later_copy["id"]
            hosts = f"{one.base_url[7:]}, {two.base_url[7:]}"
            assert poller.reports[-1][:2] == (SourceState.CONNECTED, f"polling #cats on {hosts} (every 10 s)")
        finally:
            poller.close()


def test_an_instance_that_wants_sign_in_is_named_and_the_other_keeps_working() -> None:
    with FakeMastodon(timelines_require_auth=True) as closed, FakeMastodon() as open_:
        posts = tagged(open_, "cats")
        poller = Poller([closed.base_url, open_.base_url])
        try:
            poller.watch("#cats")
            poller.step()
            assert poller.delivered() == [posts[0]["id"]]
            state, reason, _ = poller.reports[-1]
            assert state == SourceState.CONNECTED
            assert reason.startswith(f"polling #cats on {open_.base_url[7:]} (every 10 s); ")
            assert f"{closed.base_url[7:]} refuses its public timelines without a token (401" in reason
        finally:
            poller.close()


# -- in the source ----------------------------------------------------------------------------------------
def test_the_source_without_a_token_polls_every_instance_of_the_setting() -> None:
    with FakeMastodon(rate_window=1) as one, FakeMastodon(rate_window=1) as two:
        settings = Settings(
            source="mastodon",
            mastodon_url=one.base_url,
            mastodon_urls=(one.base_url, two.base_url),
            mastodon_poll_seconds=0.05,
        )
        sink = ProblemSink()
        source = MastodonSource(settings, sink)
        with running(source):
            source.set_watched({"#cats": parse("#cats"), "dogs": parse("dogs")})
            first = tagged(one, "cats")
            second = tagged(two, "cats")
            sink.wait_for(lambda: len(sink.posts) == 2, message="a status from each instance")
        assert sorted(p.id for p in sink.posts) == sorted([first[0]["id"], second[0]["id"]])
        assert sink.problems == {"#cats": None, "dogs": NEEDS_TOKEN}
        assert all(r.path.startswith("/api/v1/timelines/tag/") for r in one.requests + two.requests)
        assert sink.statuses[-1].state == SourceState.CONNECTED
        assert sink.statuses[-1].reason.startswith(f"polling #cats on {one.base_url[7:]}, {two.base_url[7:]}")


# -- settings ---------------------------------------------------------------------------------------------
def test_mastodon_url_takes_several_instances_and_the_first_is_the_streamed_one() -> None:
    settings = load_settings({"MASTODON_URL": " https://a.example/ , https://b.example,https://a.example,"}, None)
    assert settings.mastodon_urls == settings.mastodon_instances == ("https://a.example", "https://b.example")
    assert settings.mastodon_url == "https://a.example"
    assert load_settings({}, None).mastodon_instances == ("https://mastodon.social",)
    assert Settings(mastodon_url="https://c.example").mastodon_instances == ("https://c.example",)
    with pytest.raises(ConfigError, match=re.escape("MASTODON_URL: 'fosstodon.org' is not a base URL")):
        load_settings({"MASTODON_URL": "https://a.example,fosstodon.org"}, None)
    with pytest.raises(ConfigError, match=re.escape("MASTODON_POLL_SECONDS=0.5 must be at least 1 second")):
        load_settings({"MASTODON_POLL_SECONDS": "0.5"}, None)
