"""Properties over generated queries and posts (hypothesis, derandomized so runs are repeatable)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from query_posts import SETTINGS, post, posts, query_text
from twitterstream.models import Post
from twitterstream.query import Query, QueryError, QueryIndex, parse, tokenize
from twitterstream.query.networks import on_source
from twitterstream.query.tokens import fold


def valid(text: str) -> Query:
    try:
        return parse(text)
    except QueryError:
        assume(False)
        raise


@SETTINGS
@given(query_text)
def test_canonical_key_parses_back_to_the_same_tree_and_key(text: str) -> None:
    query = valid(text)
    again = parse(query.key, max_length=100_000)
    assert again.tree == query.tree
    assert again.key == query.key
    assert again.operators == query.operators


@SETTINGS
@given(st.lists(query_text, min_size=1, max_size=12), st.lists(posts, min_size=1, max_size=6))
def test_index_finds_exactly_what_evaluating_every_query_finds(texts: list[str], batch: list[Post]) -> None:
    watched: dict[str, Query] = {}
    for text in texts:
        try:
            query = parse(text)
        except QueryError:
            continue
        watched.setdefault(query.key, query)
    assume(watched)
    index = QueryIndex()
    for key, query in watched.items():
        index.add(key, query)
    for candidate in batch:
        assert index.match(candidate) == [key for key, query in watched.items() if query.matches(candidate)]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.text(max_size=60))
def test_parse_returns_a_query_or_raises_query_error_for_any_text(text: str) -> None:
    check_parse_contract(text)


QUERYISH = [*"ab c()\"-#@$:~_.'[]\t\x00\x7fé東🍕\u200d\ufe0f\u0301", "OR", "or", "and", "from:", "is:", "lang:", "~3"]


@settings(max_examples=600, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from(QUERYISH), max_size=25).map("".join))
def test_parse_contract_holds_for_query_like_noise(text: str) -> None:
    check_parse_contract(text)


def check_parse_contract(text: str) -> None:
    try:
        query = parse(text)
    except QueryError as error:
        assert error.position is None or 1 <= error.position <= len(text) + 1
        return
    assert parse(query.key, max_length=100_000).tree == query.tree
    query.matches(post(text, hashtags=("a",), urls=("https://a.b",), quoted_text=text))


@SETTINGS
@given(st.text(max_size=40))
def test_lower_casing_a_query_does_not_change_its_tokens(text: str) -> None:
    assume(all(not 0xD800 <= ord(c) <= 0xDFFF for c in text))
    assert tokenize(text.lower()) == tokenize(text)
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize("text", ["-(a b) c", "c -(a OR -(b OR d))", "x (a OR -b) -(c d)"])
def test_negation_normal_form_means_the_same(text: str) -> None:
    query = parse(text)
    reference = {
        "-(a b) c": lambda w: "c" in w and not ("a" in w and "b" in w),
        "c -(a OR -(b OR d))": lambda w: "c" in w and "a" not in w and ("b" in w or "d" in w),
        "x (a OR -b) -(c d)": lambda w: "x" in w and ("a" in w or "b" not in w) and not ("c" in w and "d" in w),
    }[text]
    for mask in range(32):  # every subset of the five words
        words = {name for bit, name in enumerate("abcdx") if mask >> bit & 1}
        assert query.matches(post(" ".join(sorted(words)))) is reference(words)


@SETTINGS
@given(query_text, st.lists(posts, min_size=1, max_size=4))
def test_a_query_as_a_source_sees_it_matches_that_sources_posts_as_the_query_does(text: str, batch: list[Post]) -> None:
    query = valid(text)
    for candidate in batch:
        seen = on_source(query, candidate.delivered_by)
        assert query.matches(candidate) is (seen is not None and seen.matches(candidate))
        if seen is not None:  # a valid rule without source: (for X: what is sent), no longer than the query
            assert "source" not in seen.operators
            assert parse(seen.key).tree == seen.tree and len(seen.key) <= len(query.key)
