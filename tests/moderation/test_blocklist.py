"""Blocklist matching: words on boundaries (casefolded), authors, domains with subdomains, Mastodon instances."""

from __future__ import annotations

import pytest

from helpers import make_post
from twitterstream.models import Author
from twitterstream.moderation import Blocklist, BlocklistError


def test_words_match_case_insensitively_on_word_boundaries() -> None:
    blocklist = Blocklist.build(words=["GARBAGE", "bad news"])
    assert blocklist.blocks(make_post(1, "this is garbage!"))
    assert blocklist.blocks(make_post(2, "Garbage."))
    assert not blocklist.blocks(make_post(3, "garbageman is a word"))  # not on a boundary
    assert blocklist.blocks(make_post(4, "some BAD   news today"))  # a phrase, any spacing
    assert not blocklist.blocks(make_post(5, "bad and news"))
    assert blocklist.blocks(make_post(6, "fine", quoted_text="quoted garbage"))  # quoted text counts


def test_words_are_unicode_aware() -> None:
    blocklist = Blocklist.build(words=["STRASSE", "Ünïcode"])
    assert blocklist.blocks(make_post(1, "die straße"))  # casefold: ß = ss
    assert blocklist.blocks(make_post(2, "ÜNÏCODE rules"))
    assert not blocklist.blocks(make_post(3, "unicode"))


def test_authors_by_handle_with_or_without_at_or_by_id() -> None:
    post = make_post(1, "hi", username="Spammer")
    assert Blocklist.build(authors=["@spammer"]).blocks(post)
    assert Blocklist.build(authors=["SPAMMER"]).blocks(post)
    assert Blocklist.build(authors=["42"]).blocks(post)  # make_post's author id
    assert not Blocklist.build(authors=["spam"]).blocks(post)


def test_domains_block_links_and_their_subdomains() -> None:
    blocklist = Blocklist.build(domains=["example.com"])
    assert blocklist.blocks(make_post(1, "x", urls=("https://example.com/a",)))
    assert blocklist.blocks(make_post(2, "x", urls=("https://news.EXAMPLE.com/a",)))
    assert not blocklist.blocks(make_post(3, "x", urls=("https://notexample.com/",)))
    assert Blocklist.build(domains=["https://www.spam.org/path"]).blocks(
        make_post(4, "x", urls=("http://www.spam.org",))
    )


def test_a_mastodon_authors_instance_is_a_domain() -> None:
    post = make_post(1, "toot", source="mastodon")
    post.author = Author("109", "troll@bad.example")
    post.url = "https://bad.example/@troll/1"
    assert Blocklist.build(domains=["bad.example"]).blocks(post)
    assert not Blocklist.build(domains=["bad.example"]).blocks(make_post(2, "toot", username="troll@bad.example"))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({"word": []}, "unknown field 'word'"),
        ({"words": "spam"}, "words must be a list"),
        ({"words": ["ok", ""]}, "words[1] must be a non-empty string"),
        ({"words": ["!!!"]}, "words[0]"),
        ({"domains": ["not a domain"]}, "domains[0]"),
        ({"authors": [3]}, "authors[0]"),
    ],
)
def test_malformed_blocklists_say_what_is_wrong(body: object, message: str) -> None:
    with pytest.raises(BlocklistError) as info:
        Blocklist.from_json(body)
    assert message in str(info.value)


def test_round_trip_keeps_what_the_operator_wrote() -> None:
    body = {"words": ["Spam", "bad news"], "authors": ["@troll"], "domains": ["example.com"]}
    assert Blocklist.from_json(body).to_json() == body
