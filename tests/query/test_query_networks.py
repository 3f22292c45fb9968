"""source:, the network filter: parsed, matched, decided per source (X's rule), indexed, and narrowing a query."""

from __future__ import annotations

import pytest

from query_posts import post
from twitterstream.config import SOURCE_NAMES as CONFIGURED_SOURCES
from twitterstream.query import QueryError, QueryIndex, parse
from twitterstream.query.ast import And, Hashtag, Not, Operator, Or
from twitterstream.query.capabilities import SOURCE_CAPABILITIES, not_followed, unsupported_on
from twitterstream.query.index import HASHTAG, required_terms
from twitterstream.query.networks import covers, left_out, on_source, only_on
from twitterstream.query.operators import SOURCE_NAMES


def test_the_values_are_the_sources_the_ingester_can_run() -> None:
    assert SOURCE_NAMES == CONFIGURED_SOURCES == tuple(SOURCE_CAPABILITIES)


# -- parsing ---------------------------------------------------------------------------------------------------


def test_source_parses_case_insensitively_into_an_operator_term() -> None:
    query = parse("#nyc SOURCE:Bluesky")
    assert query.tree == And((Hashtag("nyc"), Operator("source", "bluesky")))
    assert query.key == "#nyc source:bluesky"
    assert query.operators == {"hashtag", "source"}
    assert parse('#nyc source:"mastodon"').key == "#nyc source:mastodon"


def test_source_negated_and_in_groups() -> None:
    assert parse("#nyc -source:x").tree == And((Hashtag("nyc"), Not(Operator("source", "x"))))
    query = parse("#nyc (source:x OR source:bluesky)")
    assert query.tree == And((Hashtag("nyc"), Or((Operator("source", "x"), Operator("source", "bluesky")))))
    assert query.key == "#nyc (source:x OR source:bluesky)"
    assert parse("(source:x #a) OR #b").key == "source:x #a OR #b"  # AND binds tighter


def test_an_unknown_network_is_refused_at_its_value_naming_the_valid_ones() -> None:
    with pytest.raises(QueryError) as caught:
        parse("#nyc source:tiktok")
    assert caught.value.position == 13
    assert (
        caught.value.message == "Invalid value 'tiktok' for source: it takes a network: x, bluesky, mastodon or replay"
    )
    with pytest.raises(QueryError) as caught:
        parse('#nyc source:"Twitter for iPhone"')  # X's own source: (the posting app) is not this operator
    assert caught.value.position == 13


@pytest.mark.parametrize(
    ("text", "position", "term"),
    [
        ("source:bluesky", 1, "source:bluesky"),
        ("source:x OR #a", 1, "source:x"),
        ("#a OR source:mastodon", 7, "source:mastodon"),
        ("source:x -#a", 1, "source:x"),
    ],
)
def test_source_cannot_stand_alone_like_is_and_has(text: str, position: int, term: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert caught.value.position == position
    assert caught.value.message.startswith("source cannot be used as a standalone operator")
    assert caught.value.message.endswith(f"e.g. cats {term}")


def test_a_query_of_only_a_negated_source_is_refused_as_only_negations() -> None:
    with pytest.raises(QueryError, match="Rules must contain a non-negation term"):
        parse("-source:x")


# -- matching --------------------------------------------------------------------------------------------------


def test_source_matches_the_source_that_delivered_the_post() -> None:
    query = parse("#nyc source:bluesky")
    assert query.matches(post("hi", hashtags=("nyc",), source="bluesky"))
    assert not query.matches(post("hi", hashtags=("nyc",), source="x"))
    negated = parse("#nyc -source:x")
    assert negated.matches(post("hi", hashtags=("nyc",), source="mastodon"))
    assert not negated.matches(post("hi", hashtags=("nyc",), source="x"))


def test_a_replayed_post_is_from_the_replay_source_whatever_its_network() -> None:
    replayed = post("hi", hashtags=("nyc",), source="x", extra={"via": "replay"})
    assert replayed.delivered_by == "replay"
    assert parse("#nyc source:replay").matches(replayed)
    assert not parse("#nyc source:x").matches(replayed)


# -- one source's view: what X is sent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "on_x", "on_bluesky"),
    [
        ("source:bluesky #tag", None, "#tag"),  # X need not follow a query of another network
        ("-source:x #tag", None, "#tag"),
        ("source:x #tag", "#tag", None),
        ("(source:x #a) OR #b", "#a OR #b", "#b"),
        ("#nyc (source:x OR source:bluesky)", "#nyc", "#nyc"),
        ("(#a OR #b) source:x -is:retweet", "(#a OR #b) -is:retweet", None),
        ("(source:x (#a OR #b)) OR (source:bluesky #c) OR #d", "#a OR #b OR #d", "#c OR #d"),
    ],
)
def test_each_source_sees_the_query_with_source_decided(text: str, on_x: str | None, on_bluesky: str | None) -> None:
    query = parse(text)
    for source, expected in (("x", on_x), ("bluesky", on_bluesky)):
        seen = on_source(query, source)
        assert (seen.key if seen else None) == expected, source
        assert covers(query, source) is (expected is not None)
    assert on_source(query, "mastodon") is not None or "mastodon" in left_out(query, ("x", "mastodon"))


def test_a_query_without_source_is_its_own_view_on_every_source() -> None:
    query = parse("#nyc -is:retweet")
    assert all(on_source(query, name) is query for name in SOURCE_NAMES)
    assert left_out(query, SOURCE_NAMES) == []


def test_what_a_source_cannot_evaluate_is_judged_on_its_own_view() -> None:
    query = parse("(source:x is:verified #a) OR #b")
    assert unsupported_on(query, "bluesky") == []  # Bluesky sees #b
    assert unsupported_on(parse("#a is:verified"), "bluesky") == ["is:verified"]
    assert unsupported_on(parse("#a is:verified source:x"), "bluesky") == []  # left out, not lacking


# -- refusals: nobody can follow it -----------------------------------------------------------------------------


def test_a_filter_that_leaves_out_every_running_source_says_so_at_the_filter() -> None:
    error = not_followed(parse("#nyc source:mastodon"), ("x", "bluesky"))
    assert error is not None
    assert error.message == "source: leaves out every network running here (X and Bluesky)"
    assert error.position == 6
    assert not_followed(parse("#nyc source:mastodon"), ("x", "mastodon")) is None


def test_a_query_the_covered_sources_cannot_evaluate_names_what_they_lack() -> None:
    error = not_followed(parse("#nyc is:verified source:bluesky"), ("x", "bluesky"))
    assert error is not None and error.position is None
    assert error.message == "is:verified cannot be evaluated on bluesky posts: remove it"
    assert not_followed(parse("#nyc is:verified"), ("x", "bluesky")) is None


# -- narrowing a query to some networks (the form's checkboxes) -------------------------------------------------


def test_only_on_adds_a_canonical_readable_filter() -> None:
    assert only_on(parse("#NYC"), ["x", "bluesky"]).key == "#nyc (source:x OR source:bluesky)"
    assert only_on(parse("#a OR #b"), ["mastodon"]).key == "(#a OR #b) source:mastodon"
    assert only_on(parse("pizza -pineapple"), ["x", "x"]).key == "pizza -pineapple source:x"
    narrowed = only_on(parse("#a OR #b"), ["x", "bluesky"])
    assert on_source(narrowed, "x") is not None and on_source(narrowed, "x").key == "#a OR #b"  # type: ignore[union-attr]
    assert on_source(narrowed, "mastodon") is None


def test_only_on_refuses_a_result_past_the_length_limit() -> None:
    text = "a" * 1000
    with pytest.raises(QueryError, match="characters"):
        only_on(parse(text), ["x", "bluesky"], max_length=1024)


# -- the index ---------------------------------------------------------------------------------------------------


def test_source_keeps_a_query_indexable_by_its_other_terms() -> None:
    assert required_terms(parse("#a source:bluesky").tree) == {(HASHTAG, "a")}
    assert required_terms(parse("(source:x #a) OR #b").tree) == {(HASHTAG, "a"), (HASHTAG, "b")}
    assert required_terms(parse("#a (source:x OR source:bluesky)").tree) == {(HASHTAG, "a")}


def test_the_index_honours_source() -> None:
    index = QueryIndex()
    for text in ("#a source:bluesky", "#a -source:bluesky", "(source:x #b) OR #a"):
        index.add(text, parse(text))
    on_bluesky = post("hi", hashtags=("a", "b"), source="bluesky")
    on_x = post("hi", hashtags=("a", "b"), source="x")
    assert index.match(on_bluesky) == ["#a source:bluesky", "(source:x #b) OR #a"]
    assert index.match(on_x) == ["#a -source:bluesky", "(source:x #b) OR #a"]
