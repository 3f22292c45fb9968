"""A post's text cut into plain runs and links, from the post's own entities only."""

from __future__ import annotations

from dataclasses import replace

import orjson

from helpers import make_post
from twitterstream.models import Media, Post
from twitterstream.richtext import hashtag_href, text_parts


def test_hashtags_link_to_their_wall_in_any_case_and_only_as_whole_tags() -> None:
    post = make_post(1, "#NYC rocks, #nycfood is not #nyc, and a#nyc is no tag", hashtags=("nyc",))
    assert text_parts(post) == [
        {"text": "#NYC", "href": "/results/%23NYC", "kind": "hashtag"},
        {"text": " rocks, #nycfood is not "},
        {"text": "#nyc", "href": "/results/%23nyc", "kind": "hashtag"},
        {"text": ", and a#nyc is no tag"},
    ]


def test_a_hashtag_in_any_script_is_percent_encoded_in_its_link() -> None:
    assert hashtag_href("Été/2026?") == "/results/%23%C3%89t%C3%A9%2F2026%3F"


def test_mentions_link_to_the_profile_on_the_posts_service() -> None:
    x = make_post(1, "hi @Someone_1 and @someone_10", mentions=("someone_1",))
    assert text_parts(x)[1] == {"text": "@Someone_1", "href": "https://x.com/someone_1", "kind": "mention"}
    assert text_parts(x)[2] == {"text": " and @someone_10"}
    bluesky = replace(x, source="bluesky", text="hi @alice.bsky.social.", mentions=("did:plc:a", "alice.bsky.social"))
    assert text_parts(bluesky)[1]["href"] == "https://bsky.app/profile/alice.bsky.social"


def test_only_http_links_become_links() -> None:
    post = make_post(
        1, "see javascript:alert(1) and https://example.com/a", urls=("javascript:alert(1)", "https://example.com/a")
    )
    assert text_parts(post) == [
        {"text": "see javascript:alert(1) and "},
        {"text": "https://example.com/a", "href": "https://example.com/a", "kind": "link"},
    ]
    hostile = replace(post, extra={"links": [{"text": "see", "href": "javascript:alert(2)"}, "junk", {"text": 3}]})
    assert all(part.get("href") != "javascript:alert(2)" for part in text_parts(hostile))


def test_overlapping_entities_keep_the_earliest_then_the_longest() -> None:
    post = make_post(1, "https://example.com/#tag", urls=("https://example.com/#tag",), hashtags=("tag",))
    assert text_parts(post) == [
        {"text": "https://example.com/#tag", "href": "https://example.com/#tag", "kind": "link"}
    ]


def test_an_x_link_to_its_own_photo_is_left_out_when_the_photo_is_shown() -> None:
    link = {
        "text": "https://t.co/p",
        "href": "https://x.com/a/status/1/photo/1",
        "shown": "pic.x.com/p",
        "kind": "media",
    }
    post = make_post(1, "look https://t.co/p", extra={"links": [link]})
    assert text_parts(post) == [{"text": "look "}, {"text": "pic.x.com/p", "href": link["href"], "kind": "link"}]
    shown = replace(post, media=(Media("photo", "https://pbs.twimg.com/media/p.jpg"),))
    assert text_parts(shown) == [{"text": "look"}]


def test_the_text_keeps_every_character_and_the_warning_is_not_repeated() -> None:
    text = "  spaces <b>kept</b> \n"
    assert "".join(p["text"] for p in text_parts(make_post(1, text))) == text
    warned = make_post(1, "Spoilers\n\nthe ending", content_warning="Spoilers")
    assert text_parts(warned) == [{"text": "the ending"}]


def test_a_stored_record_leaves_the_parts_out_and_a_read_post_shows_them() -> None:
    post = make_post(1, "#NYC with @someone", hashtags=("nyc",), mentions=("someone",), sensitive=True)
    record = post.to_record()
    assert "text_parts" not in record  # derived when read
    shown = post.to_json()
    assert Post.from_record(orjson.loads(orjson.dumps(record))).to_json() == shown
    assert shown["text_parts"] == text_parts(post)
    assert list(shown)[-2:] == ["text_parts", "embed_html"]  # the Post JSON's order, as before
