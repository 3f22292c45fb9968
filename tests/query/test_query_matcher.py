"""Matching posts: every operator, as X documents it for filtered-stream rules."""

from __future__ import annotations

import pytest

from query_posts import post
from twitterstream.models import Post
from twitterstream.query import PostFeatures, parse


def matches(query: str, candidate: Post) -> bool:
    return parse(query).matches(candidate)


# -- keywords --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("cat", "I love my CAT!", True),
        ("cat", "concatenate", False),
        ("cat", "cats", False),
        ("Cat", "#cat", True),  # a keyword is a token match: the hashtag's text is a token
        ("coca-cola", "I like coca-cola", True),
        ("coca-cola", "I like Coca Cola", True),  # an unquoted keyword of several tokens: adjacent tokens
        ("coca-cola", "cola coca", False),
        ("coca-cola", "coca and cola", False),
        ("diacrítica", "una diacrítica", True),
        ("diacrítica", "una diacritica", False),
        ("diacritica", "una diacrítica", False),
        ("straße", "STRASSE", True),
        ("snake_case", "snake case", True),  # underscore is punctuation in keywords
        ("2024", "back in 2024.", True),
        ("café", "cafe\u0301 time", True),  # NFC
        ("apple ipad", "ipad by apple", True),
    ],
)
def test_keywords_are_tokenized_case_insensitive_and_strict_about_accents(
    query: str, text: str, expected: bool
) -> None:
    assert matches(query, post(text)) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("🍕", "I like 🍕", True),
        ("🍕", "I like🍕!", True),
        ("(😃 OR 😡) 😬", "😡😬", True),
        ("(😃 OR 😡) 😬", "😡", False),
        ("❤️", "I ❤ you", True),
        ("❤", "I ❤️ you", True),
        ("👍", "nice 👍🏽", True),
        ("👍🏽", "nice 👍", True),  # skin tones are ignored both ways
        ("\U0001f469", "\U0001f468\u200d\U0001f469\u200d\U0001f467", True),
        ("\U0001f468\u200d\U0001f469\u200d\U0001f467", "\U0001f468\u200d\U0001f469\u200d\U0001f467 fam", True),
        ("🇺🇸", "go 🇺🇸!", True),
        ("🇺🇸", "🇫🇺🇸🇪", False),
        ("東京", "東京タワーに行く", True),
        ("京タ", "東京タワー", True),
    ],
)
def test_emoji_and_cjk_keywords(query: str, text: str, expected: bool) -> None:
    assert matches(query, post(text)) is expected


def test_keywords_also_match_the_quoted_post() -> None:
    quote = post("look at this", quoted_text="Coca-Cola is back", is_quote=True)
    assert matches("coca-cola", quote)
    assert matches('"coca-cola is"', quote)
    assert not matches('"this coca-cola"', quote)  # a sequence does not run across the two texts
    assert matches("this coca", quote)  # but separate terms may be in either


# -- phrases and proximity -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ('"coca-cola"', "I like Coca-Cola!", True),
        ('"coca-cola"', "I like coca cola", False),
        ('"coca-cola"', "I like coca-colas", False),
        ('"coca-cola"', "pepsicoca-cola", False),
        ('"happy  birthday"', "Happy\nbirthday to you", True),
        ('"happy birthday"', "happy birthdays", False),
        ('"#love"', "I #love it", True),
        ('"#love"', "I love it", False),
        ('"$5"', "only $5!", True),
        ('"u.s."', "the U.S. army", True),
        ('"-cola"', "coca-cola", True),  # starts with punctuation: no boundary needed before it
        ('"x api" OR #v2', "the X API", True),
        ('"diacrítica"', "diacritica", False),
        ('"東京"', "東京タワー", True),
        ('"🇺🇸"', "🇫🇺🇸🇪", True),  # a phrase is a character sequence
    ],
)
def test_exact_phrase_keeps_punctuation_and_token_boundaries(query: str, text: str, expected: bool) -> None:
    assert matches(query, post(text)) is expected


@pytest.mark.parametrize(
    ("distance", "text", "expected"),
    [
        (1, "social media", True),
        (1, "social x media", True),
        (1, "social x y media", False),
        (5, "social a b c d e media", True),
        (5, "social a b c d e f media", False),
        (2, "media social", True),  # opposite order: at most N - 2 tokens between
        (2, "media x social", False),
        (3, "media x social", True),
        (6, "Media, a b c d: social!", True),
        (6, "media a b c d e social", False),
        (1, "social", False),
    ],
)
def test_proximity_is_x_slop(distance: int, text: str, expected: bool) -> None:
    assert matches(f'"social media"~{distance}', post(text)) is expected


def test_proximity_with_three_words_and_repeats() -> None:
    assert matches('"snowy mountain resort"~2', post("snowy big mountain ski resort"))
    assert not matches('"snowy mountain resort"~1', post("snowy big mountain ski resort"))
    assert matches('"la la land"~1', post("la la x land"))
    assert not matches('"la la land"~6', post("la land"))  # two "la" need two positions


# -- entities --------------------------------------------------------------------------------------------------


def test_hashtag_is_an_exact_entity_match_not_a_prefix_nor_text() -> None:
    assert matches("#thankunext", post("so good", hashtags=("ThankUNext",)))
    assert not matches("#thanku", post("so good", hashtags=("thankunext",)))
    assert not matches("#thanku", post("#thanku written but not an entity"))
    assert matches("#Café", post("x", hashtags=("CAFÉ",)))


def test_mention_and_cashtag_are_exact_entity_matches() -> None:
    assert matches("@XDevelopers", post("hi", mentions=("xdevelopers",)))
    assert not matches("@XDev", post("hi", mentions=("xdevelopers",)))
    assert not matches("@xdevelopers", post("hi @xdevelopers"))
    assert matches("@alice.bsky.social", post("hi", mentions=("alice.bsky.social",)))
    assert matches("$TWTR", post("buy", cashtags=("twtr",)))
    assert not matches("$TW", post("buy", cashtags=("TWTR",)))


# -- user and URL operators ------------------------------------------------------------------------------------


def test_from_matches_the_username_or_the_id() -> None:
    assert matches("from:XDevelopers", post("x", username="xdevelopers", author_id="2244994945"))
    assert matches("from:@xdevelopers", post("x", username="XDevelopers"))
    assert matches("from:2244994945", post("x", username="xdevelopers", author_id="2244994945"))
    assert not matches("from:xdev", post("x", username="xdevelopers"))
    assert matches("from:alice@mastodon.social", post("x", username="alice@mastodon.social", source="mastodon"))


def test_to_matches_any_user_replied_to() -> None:
    reply = post("x", is_reply=True, reply_to=("2244994945", "XDevelopers"))
    assert matches("to:xdevelopers", reply)
    assert matches("to:2244994945", reply)
    assert not matches("to:api", reply)
    assert not matches("to:xdevelopers", post("x"))


def test_url_is_a_tokenized_match_on_any_url() -> None:
    links = post("x", urls=("https://t.co/abc", "https://developer.x.com/en/docs"))
    assert matches('url:"https://developer.x.com"', links)
    assert matches("url:developer.x.com", links)
    assert matches('url:"/en/docs"', links)
    assert not matches("url:developer.twitter.com", links)
    assert not matches("url:x.com/en/docs/more", links)
    assert not matches("url:developer", post("developer"))


# -- conjunction-required operators ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "lang", "langs", "expected"),
    [
        ("en", "en", (), True),
        ("en", "es", (), False),
        ("en", None, ("pt", "en"), True),
        ("en", None, ("en-US",), True),
        ("en-us", None, ("en-US",), True),
        ("en-gb", None, ("en-US",), False),
        ("zh-cn", "zh-CN", (), True),
        ("in", "id", (), True),
        ("iw", None, ("he",), True),
        ("und", "und", (), True),
        ("und", None, (), True),
        ("und", "en", (), False),
    ],
)
def test_lang(code: str, lang: str | None, langs: tuple[str, ...], expected: bool) -> None:
    candidate = post("cats", lang=lang, extra={"langs": list(langs)} if langs else {})
    assert matches(f"cats lang:{code}", candidate) is expected


def test_two_languages_anded_match_a_single_language_post_never() -> None:
    assert not matches("cats lang:en lang:es", post("cats", lang="en"))


@pytest.mark.parametrize(
    ("operator", "fields", "expected"),
    [
        ("is:retweet", {"is_retweet": True}, True),
        ("is:retweet", {"is_quote": True}, False),
        ("is:reply", {"is_reply": True}, True),
        ("is:quote", {"is_quote": True}, True),
        ("is:quote", {}, False),
        ("is:verified", {"verified": True}, True),
        ("is:verified", {"verified": None}, False),
        ("is:verified", {"verified": False}, False),
        ("has:links", {"urls": ("https://t.co/x",)}, True),
        ("has:links", {}, False),
        ("has:media", {"media_types": ("video",)}, True),
        ("has:media", {}, False),
        ("has:images", {"media_types": ("photo",)}, True),
        ("has:images", {"media_types": ("video",)}, False),
        ("has:videos", {"media_types": ("video",)}, True),
        ("has:video_link", {"media_types": ("animated_gif",)}, True),
        ("has:video_link", {"media_types": ("photo",)}, False),
        ("has:mentions", {"mentions": ("bob",)}, True),
        ("has:mentions", {}, False),
        ("has:hashtags", {"hashtags": ("nyc",)}, True),
        ("has:hashtags", {}, False),
        ("has:cashtags", {"cashtags": ("TWTR",)}, True),
        ("has:cashtags", {}, False),
    ],
)
def test_flags(operator: str, fields: dict[str, object], expected: bool) -> None:
    assert matches(f"cats {operator}", post("cats", **fields)) is expected
    assert matches(f"cats -{operator}", post("cats", **fields)) is not expected


# -- logic -----------------------------------------------------------------------------------------------------


def test_and_or_not_and_precedence() -> None:
    query = parse("apple OR iphone ipad")
    assert query.matches(post("apple"))
    assert query.matches(post("ipad iphone"))
    assert not query.matches(post("ipad"))
    query = parse("(apple OR iphone) ipad -android")
    assert query.matches(post("iphone ipad"))
    assert not query.matches(post("apple"))
    assert not query.matches(post("apple ipad android"))


def test_negated_group_means_none_of_them() -> None:
    query = parse("skiing -(snow OR day)")
    assert query.matches(post("skiing"))
    assert not query.matches(post("skiing snow"))
    assert not query.matches(post("skiing day"))
    query = parse("skiing -(snow day)")
    assert query.matches(post("skiing snow"))
    assert not query.matches(post("skiing snow day"))


def test_operators_only_x_evaluates_are_false_and_never_raise() -> None:
    for text in ("cats bio:developer", "cats place:seattle", "cats has:geo", "cats sample:10", "retweets_of:bob"):
        assert not matches(text, post("cats", hashtags=("x",), urls=("https://a.b",)))
    assert matches("cats -bio:developer", post("cats"))  # so callers must check unsupported() first
    assert matches("cats -is:nullcast", post("cats"))


def test_matches_takes_a_post_or_its_features() -> None:
    candidate = post("Coca-Cola", hashtags=("Soda",), mentions=("Coke",))
    features = PostFeatures.of(candidate)
    assert PostFeatures.of(features) is features
    query = parse('"coca-cola" #soda @coke')
    assert query.matches(candidate) and query.matches(features)
    assert features.tokens == ["coca", "cola"]
    assert features.hashtags == {"soda"} and features.mentions == {"coke"}


def test_entities_with_a_prefix_character_are_tolerated() -> None:
    assert matches("#nyc", post("x", hashtags=("#NYC",)))
    assert matches("@bob", post("x", mentions=("@Bob",)))
