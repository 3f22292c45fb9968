"""The X source and client without the app, over real HTTP against the fake X: what X's documentation says X may answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from fakes.x_api import FakeX
from fakes.x_posts import make_post
from helpers import RecordingSink
from twitterstream.config import Secret, Settings
from twitterstream.query import parse
from twitterstream.query.networks import on_source
from twitterstream.sources.framing import LineSplitter
from twitterstream.sources.x import XSource
from twitterstream.sources.x_client import XClient
from twitterstream.sources.x_payload import StreamMessage, decode_stream_line
from twitterstream.sources.x_rules import TAG_PREFIX, route, rule_tag

TOKEN = "test-token"


class ProblemSink(RecordingSink):
    """Also remembers the problems the source reports per query."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: dict[str, str | None] = {}

    def set_query_problem(self, query_key: str, problem: str | None) -> None:
        self.problems[query_key] = problem


def make_source(fake: FakeX) -> XSource:
    settings = Settings(source="x", x_bearer_token=Secret(TOKEN), x_api_url=fake.base_url, x_stream_read_timeout=2.0)
    return XSource(settings, ProblemSink())


def searching_source(fake: FakeX) -> XSource:
    """A source that has read X's usage figures, as it does before any search (searches wait for that)."""
    source = make_source(fake)
    source.usage.check()
    return source


def problems_of(source: XSource) -> dict[str, str | None]:
    assert isinstance(source.sink, ProblemSink)
    return source.sink.problems


def delivered(source: XSource) -> list[str]:
    assert isinstance(source.sink, ProblemSink)
    return [post.id for post in source.sink.posts]


def watch(source: XSource, *texts: str) -> None:
    source.set_watched({text: parse(text) for text in texts})


@pytest.fixture
def fake() -> Iterator[FakeX]:
    with FakeX(bearer_token=TOKEN, keepalive_interval=0.2) as fake:
        yield fake


# -- rules ----------------------------------------------------------------------------------------------
def test_an_invalid_rule_does_not_keep_the_rest_of_its_batch_from_being_created(fake: FakeX) -> None:
    # X creates none of an add request's rules when one is invalid (summary: valid 2, invalid 1, created 0).
    fake.max_rule_length = 20
    source = make_source(fake)
    long_query = '"a phrase too long for this plan"'
    watch(source, "cats", long_query, "dogs")
    source._reconcile()
    assert sorted(r["value"] for r in fake.rules.values()) == ["cats", "dogs"]
    assert all(r["tag"].startswith(TAG_PREFIX) for r in fake.rules.values())
    assert sorted(source._rule_routes.values()) == [("cats",), ("dogs",)]
    problem = problems_of(source)[long_query]
    assert problem is not None and problem.startswith("X rejected this query:")
    assert problems_of(source)["cats"] is None and problems_of(source)["dogs"] is None
    first, second = [r.json()["add"] for r in fake.requests_to("/2/tweets/search/stream/rules", "POST")]
    assert len(first) == 3 and [r["value"] for r in second] == ["cats", "dogs"]


def test_a_query_x_refused_is_not_sent_again_while_it_stays_watched(fake: FakeX) -> None:
    fake.max_rule_length = 20
    source = make_source(fake)
    long_query = '"a phrase too long for this plan"'
    watch(source, long_query)
    source._reconcile()
    posts_after_first = fake.rule_posts
    source._reconcile()  # the next periodic sync: X's answer would be the same, so it is not asked
    assert fake.rule_posts == posts_after_first
    problem = problems_of(source)[long_query]
    assert problem is not None and problem.startswith("X rejected this query:")
    watch(source)  # no longer watched: forgotten, so a later watch asks X again
    source._reconcile()
    watch(source, long_query)
    source._reconcile()
    assert fake.rule_posts == posts_after_first + 1


def test_the_rule_cap_error_names_no_rule_and_marks_every_rule_it_kept_out(fake: FakeX) -> None:
    # X's docs: too many rules come back as an error of type .../problems/rule-cap, which has no ``value``.
    fake.rule_cap = 1
    fake.add_rule("someone else's rule", tag="theirs")
    source = make_source(fake)
    watch(source, "cats", "dogs")
    source._reconcile()
    assert [r["value"] for r in fake.rules.values()] == ["someone else's rule"]
    for key in ("cats", "dogs"):
        problem = problems_of(source)[key]
        assert problem is not None and "rule limit is reached" in problem
    assert fake.rule_posts == 1  # not asked again in a loop
    assert source._rule_routes == {}


def test_all_pages_of_rules_are_read_so_stale_rules_on_later_pages_are_deleted(fake: FakeX) -> None:
    fake.rules_page_size = 2
    foreign = [fake.add_rule(f"theirs {n}", tag="theirs") for n in range(3)]
    source = make_source(fake)
    watch(source, "stale")
    source._reconcile()
    watch(source, "cats")
    source._reconcile()
    values = sorted(r["value"] for r in fake.rules.values())
    assert values == ["cats", "theirs 0", "theirs 1", "theirs 2"]
    assert set(foreign) <= set(fake.rules)
    gets = fake.requests_to("/2/tweets/search/stream/rules", "GET")
    # Two reconciles of two pages each; the stale rule was on the second page.
    assert [g.param("pagination_token") is not None for g in gets] == [False, True, False, True]


def watch_as_x(source: XSource, *texts: str) -> dict[str, str]:
    """Watch queries as the ingester hands them to X (``source:`` decided for X); their keys by text."""
    queries = {parse(text).key: on_source(parse(text), "x") for text in texts}
    source.set_watched({key: query for key, query in queries.items() if query is not None})
    return {text: parse(text).key for text in texts}


def test_x_is_sent_each_query_as_it_reads_on_x_and_one_rule_serves_queries_that_read_the_same(fake: FakeX) -> None:
    source = make_source(fake)
    keys = watch_as_x(source, "#a", "#a -source:bluesky", "(source:x #b) OR #c")
    source._reconcile()
    assert sorted(r["value"] for r in fake.rules.values()) == ["#a", "#b OR #c"]  # never source:
    assert all(r["tag"] == rule_tag(r["value"]) for r in fake.rules.values())
    by_rule = {r["value"]: rule_id for rule_id, r in fake.rules.items()}
    assert source._rule_routes[by_rule["#a"]] == (keys["#a"], keys["#a -source:bluesky"])
    assert source._rule_routes[by_rule["#b OR #c"]] == (keys["(source:x #b) OR #c"],)
    message = StreamMessage(rule_ids=[by_rule["#a"], by_rule["#b OR #c"]], rule_tags=["", ""])
    assert route(message, source._rule_routes, source._desired) == [
        "#a",
        "#a -source:bluesky",
        "source:x #b OR #c",
    ]
    # A rule created since the last reconcile is found by its tag.
    assert route(StreamMessage(rule_ids=["new"], rule_tags=[rule_tag("#b OR #c")]), {}, source._desired) == [
        "source:x #b OR #c"
    ]


def test_a_query_that_leaves_x_out_gets_no_rule_and_its_old_rule_goes(fake: FakeX) -> None:
    source = make_source(fake)
    watch_as_x(source, "#a source:x")
    source._reconcile()
    assert [r["value"] for r in fake.rules.values()] == ["#a"]
    watch_as_x(source, "#a source:bluesky", "#b -source:x")
    source._reconcile()
    assert fake.rules == {} and source._rule_routes == {}


def test_searches_ask_x_for_the_query_as_it_reads_on_x(fake: FakeX) -> None:
    first = fake.post("#b on X", deliver=False)
    source = searching_source(fake)
    keys = watch_as_x(source, "(source:x #b) OR #c")
    query = on_source(parse("(source:x #b) OR #c"), "x")
    assert query is not None
    assert [p.id for p in source.backfill(keys["(source:x #b) OR #c"], query, 10)] == [first]
    source._fill_gap({keys["(source:x #b) OR #c"]: first})
    searched = [r.param("query") for r in fake.requests_to("/2/tweets/search/recent")]
    assert searched == ["#b OR #c", "#b OR #c"]


# -- gap fill -------------------------------------------------------------------------------------------
def test_a_gap_fill_follows_next_token_down_to_since_id_and_delivers_oldest_first(fake: FakeX) -> None:
    seen = fake.post("cats before the drop", deliver=False)
    missed = [fake.post(f"cats while disconnected {n}", deliver=False) for n in range(150)]
    fake.post("dogs only", deliver=False)
    source = searching_source(fake)
    watch(source, "cats")
    source._fill_gap({"cats": seen})
    assert delivered(source) == missed
    first, second = fake.requests_to("/2/tweets/search/recent")
    assert first.param("since_id") == second.param("since_id") == seen
    assert first.param("next_token") is None and second.param("next_token") is not None
    assert first.param("max_results") == "100"


def test_a_gap_fill_without_a_stored_post_reads_one_page(fake: FakeX) -> None:
    posts = [fake.post(f"cats {n}", deliver=False) for n in range(25)]
    source = searching_source(fake)
    watch(source, "cats")
    source._fill_gap({"cats": None})
    assert delivered(source) == posts[-10:]
    assert fake.search_calls == 1


# -- the stream -----------------------------------------------------------------------------------------
def test_a_gzip_encoded_stream_is_decoded(fake: FakeX) -> None:
    # The client asks for gzip (httpx's default accept-encoding), so X may compress the never-ending body.
    fake.gzip_stream = True
    fake.add_rule("cats", tag="cats")
    client = XClient(fake.base_url, TOKEN, read_timeout=2.0)
    try:
        with client.open_stream() as connection:
            assert connection.response.headers["content-encoding"] == "gzip"
            fake.wait_for_connections(1)
            post, user = make_post(None, "cats \u00e9t\u00e9 \U0001f600")
            fake.publish(post, users=[user])
            splitter = LineSplitter()
            messages: list[Any] = []
            for chunk in connection.chunks():
                messages += [m for m in map(decode_stream_line, splitter.feed(chunk)) if m is not None]
                if messages:
                    break
    finally:
        client.close()
    [message] = messages
    assert [p.id for p in message.posts] == [post["id"]]
    assert message.posts[0].text == "cats \u00e9t\u00e9 \U0001f600"
    assert message.rule_tags == ["cats"]
