"""The index of watched queries: it finds exactly the queries a post matches."""

from __future__ import annotations

from query_posts import post
from twitterstream.query import PostFeatures, QueryIndex, parse


def watch(*texts: str) -> QueryIndex:
    index = QueryIndex()
    for text in texts:
        index.add(parse(text).key, parse(text))
    return index


def test_match_returns_the_keys_of_matching_queries_in_the_order_added() -> None:
    index = watch("#nyc", "pizza", "pizza -pineapple", "coffee OR tea", "from:bob")
    assert index.match(post("Pizza and coffee", hashtags=("NYC",))) == [
        "#nyc",
        "pizza",
        "pizza -pineapple",
        "coffee OR tea",
    ]
    assert index.match(post("pizza with pineapple")) == ["pizza"]
    assert index.match(post("tea time", username="bob")) == ["coffee OR tea", "from:bob"]
    assert index.match(post("nothing here")) == []


def test_match_accepts_features() -> None:
    index = watch("pizza")
    assert index.match(PostFeatures.of(post("pizza"))) == ["pizza"]


def test_add_remove_len_contains() -> None:
    index = QueryIndex()
    assert len(index) == 0 and "pizza" not in index
    index.add("pizza", parse("pizza"))
    index.add("news", parse("#news OR from:reuters"))
    assert len(index) == 2 and "pizza" in index and "news" in index
    index.remove("pizza")
    index.remove("pizza")  # removing twice is harmless
    assert len(index) == 1 and "pizza" not in index
    assert index.match(post("pizza")) == []
    assert index.match(post("x", username="Reuters")) == ["news"]
    index.remove("news")
    assert index.match(post("x", username="reuters", hashtags=("news",))) == []


def test_adding_a_key_again_replaces_its_query() -> None:
    index = QueryIndex()
    index.add("watched", parse("pizza"))
    index.add("watched", parse("pasta"))
    assert len(index) == 1
    assert index.match(post("pizza")) == []
    assert index.match(post("pasta")) == ["watched"]


def test_every_kind_of_term_is_found() -> None:
    index = watch(
        "coca-cola",
        '"coca-cola"',
        '"social media"~3',
        "@mayor",
        "$TWTR",
        "to:support",
        "url:example.com",
        "#nyc lang:en",
        "cats has:media -is:retweet",
    )
    everything = post(
        "Coca-Cola on social media, cats",
        mentions=("Mayor",),
        cashtags=("twtr",),
        reply_to=("Support",),
        urls=("https://example.com/x",),
        hashtags=("NYC",),
        lang="en",
        media_types=("photo",),
    )
    assert index.match(everything) == [
        "coca-cola",
        '"coca-cola"',
        '"social media"~3',
        "@mayor",
        "$TWTR",
        "to:support",
        "url:example.com",
        "#nyc lang:en",
        "cats has:media -is:retweet",
    ]


def test_queries_without_a_required_term_are_verified_against_every_post() -> None:
    index = watch('"!!!"', 'cats OR "?!"', "bio:developer", "pizza")
    assert set(index.candidates(PostFeatures.of(post("")))) == {'"!!!"', 'cats OR "?!"', "bio:developer"}
    assert index.match(post("wow!!!")) == ['"!!!"']
    assert index.match(post("what?!")) == ['cats OR "?!"']
    assert index.match(post("developer")) == []  # X evaluates bio:, the local matcher never matches it


def test_an_and_is_found_through_one_of_its_terms() -> None:
    index = watch("apple ipad", "apple -ipad")
    assert index.match(post("ipad by apple")) == ["apple ipad"]
    assert index.match(post("apple pie")) == ["apple -ipad"]


def test_candidates_are_few_when_nothing_matches() -> None:
    index = watch(*[f"word{n}" for n in range(1000)])
    features = PostFeatures.of(post("word7 and word9 but not others"))
    assert set(index.candidates(features)) == {"word7", "word9"}


def test_single_term_queries_are_matched_by_the_lookup_alone() -> None:
    index = watch("pizza", "#nyc OR from:bob", "pizza -pineapple", "coca-cola")
    found = index.candidates(PostFeatures.of(post("pizza coca-cola", hashtags=("nyc",))))
    assert found["pizza"] is None and found["#nyc OR from:bob"] is None  # found means matched
    assert found["pizza -pineapple"] is not None and found["coca-cola"] is not None  # verified
