"""Media and avatars of every source: what each service sends, decoded into Post.media and author.avatar_url."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from dataclasses import replace
from typing import Any

import httpx
import pytest

from fakes.bluesky_profiles import FakeProfiles
from fakes.jetstream import fake_did, images_embed, make_post_event, new_tid, quote_embed, video_embed
from fakes.mastodon import make_status
from fakes.x_api import FakeX
from fakes.x_posts import make_media, make_post
from harness import eventually
from helpers import make_post as make_test_post
from samples import load
from twitterstream.models import Author, Media
from twitterstream.sources.bluesky import ProfileCache
from twitterstream.sources.bluesky_payload import decode_event
from twitterstream.sources.framing import LineSplitter
from twitterstream.sources.mastodon_payload import post_from_status
from twitterstream.sources.x_client import FIELD_PARAMS, XClient
from twitterstream.sources.x_payload import decode_stream_line, decode_stream_message, posts_from_page

TOKEN = "test-token"
ALICE = fake_did("alice.bsky.social")


# -- X --------------------------------------------------------------------------------------------------
@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    with FakeX(bearer_token=TOKEN, keepalive_interval=0.2) as fake:
        yield fake


def publish_with_media(fake: FakeX, deliver: bool) -> str:
    post, user = make_post(None, "cats at the window", media=2)
    photo_key, video_key = post["attachments"]["media_keys"]
    media = [make_media(photo_key, "photo", alt_text="A cat asleep in the sun"), make_media(video_key, "video")]
    fake.publish(post, users=[user], media=media, deliver=deliver)
    return str(post["id"])


def test_recent_search_asks_for_media_and_avatars_and_gets_them(fake_x: FakeX) -> None:
    post_id = publish_with_media(fake_x, deliver=False)
    client = XClient(fake_x.base_url, TOKEN)
    try:
        [post] = posts_from_page(client.search_recent("cats"))
    finally:
        client.close()
    assert post.id == post_id
    code = post.author.id
    assert post.author.avatar_url == f"https://pbs.twimg.com/profile_images/{code}/avatar_normal.jpg"
    photo, video = post.media
    assert photo.type == "photo" and photo.alt == "A cat asleep in the sun"
    assert photo.url is not None and photo.url.startswith("https://pbs.twimg.com/media/")
    assert (photo.width, photo.height) == (1200, 675)
    assert video.type == "video" and video.url is None and video.alt is None  # X gives videos a poster frame only
    assert video.preview_url is not None and "ext_tw_video_thumb" in video.preview_url
    [request] = fake_x.requests_to("/2/tweets/search/recent")
    assert {"author_id", "attachments.media_keys"} <= set(request.param("expansions").split(","))
    assert {"url", "preview_image_url", "alt_text", "width", "height"} <= set(request.param("media.fields").split(","))
    assert "profile_image_url" in request.param("user.fields").split(",")


def test_the_stream_delivers_media_and_avatars(fake_x: FakeX) -> None:
    fake_x.add_rule("cats", tag="cats")
    client = XClient(fake_x.base_url, TOKEN, read_timeout=2.0)
    messages: list[Any] = []
    try:
        with client.open_stream() as connection:
            fake_x.wait_for_connections(1)
            publish_with_media(fake_x, deliver=True)
            splitter = LineSplitter()
            for chunk in connection.chunks():
                messages += [m for m in map(decode_stream_line, splitter.feed(chunk)) if m is not None]
                if messages:
                    break
    finally:
        client.close()
    [post] = messages[0].posts
    assert [m.type for m in post.media] == ["photo", "video"]
    assert post.media[0].alt == "A cat asleep in the sun"
    assert post.author.avatar_url is not None


def test_without_the_expansions_x_sends_no_media_objects(fake_x: FakeX) -> None:
    publish_with_media(fake_x, deliver=False)
    params = {k: v for k, v in FIELD_PARAMS.items() if k not in ("expansions", "media.fields")}
    answer = httpx.get(
        f"{fake_x.base_url}/2/tweets/search/recent",
        params={"query": "cats", **params},
        headers={"Authorization": f"Bearer {TOKEN}"},
    ).json()
    assert "media" not in answer.get("includes", {})
    [post] = posts_from_page(answer)
    assert post.media == () and post.media_types == ("photo",)  # the media key still names the kind


def test_the_stream_sample_gives_the_authors_avatar_and_a_media_key_without_objects() -> None:
    [post] = decode_stream_message(load("x/stream_message_with_includes.json")).posts
    assert post.author.avatar_url == "https://pbs.twimg.com/profile_images/1126063941304705025/wnLhsOxX_normal.png"
    assert post.media == () and post.media_types == ("photo",)  # no includes.media in this capture
    # its own photo link stays a link while the card has no picture to show instead
    assert post.to_json()["text_parts"][-1] == {
        "text": "pic.twitter.com/FcxreY6TDX",
        "href": "https://twitter.com/VillageFederal/status/1359517868925280258/photo/1",
        "kind": "link",
    }


def test_x_media_with_urls_that_are_not_http_are_dropped_and_the_post_kept() -> None:
    message = {
        "data": {"id": "1", "text": "hi", "author_id": "7", "attachments": {"media_keys": ["3_1", "3_2", "7_3"]}},
        "includes": {
            "users": [{"id": "7", "username": "someone", "profile_image_url": "javascript:alert(1)"}],
            "media": [
                {"media_key": "3_1", "type": "photo", "url": "javascript:alert(2)"},
                {"media_key": "3_2", "type": "photo", "url": "https://pbs.twimg.com/media/ok.jpg", "width": "9e9"},
                {"media_key": "7_3", "type": "video", "preview_image_url": "data:image/png;base64,AAAA"},
            ],
        },
    }
    [post] = decode_stream_message(message).posts
    assert post.author.avatar_url is None
    assert post.media == (Media("photo", "https://pbs.twimg.com/media/ok.jpg"),)


# -- Bluesky --------------------------------------------------------------------------------------------
def test_bluesky_sample_images_come_from_the_cdn_with_the_records_size() -> None:
    event = decode_event(load("bluesky/jetstream_v1_post_create_link_tag_facets_images_embed.json"))
    assert event is not None and event.post is not None
    did = event.post.author.id
    cid = "bafkreidrnwt23f7wy7fyfex5acdkxh62wsgpg245ame4c4rogfwb3upyaa"
    assert event.post.media == (
        Media(
            "photo",
            f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg",
            f"https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/{cid}@jpeg",
            None,  # the author wrote no alt text
            889,
            889,
        ),
    )


def test_bluesky_alt_text_record_with_media_and_video_posters() -> None:
    images = decode_event(make_post_event(ALICE, new_tid(), "two", embed=images_embed(2, alt="Kites over a beach")))
    assert images is not None and images.post is not None
    assert [m.alt for m in images.post.media] == ["Kites over a beach"] * 2
    quoted = f"at://{ALICE}/app.bsky.feed.post/{new_tid()}"
    with_media = decode_event(make_post_event(ALICE, new_tid(), "q", embed=quote_embed(quoted, media=images_embed(1))))
    assert with_media is not None and with_media.post is not None
    assert with_media.post.is_quote and len(with_media.post.media) == 1
    embed = video_embed("A kite video", width=1080, height=1920)
    video = decode_event(make_post_event(ALICE, new_tid(), "v", embed=embed))
    assert video is not None and video.post is not None
    cid = embed["video"]["ref"]["$link"]
    did = ALICE.replace(":", "%3A")
    assert video.post.media == (
        Media(
            "video",
            f"https://video.bsky.app/watch/{did}/{cid}/playlist.m3u8",
            f"https://video.bsky.app/watch/{did}/{cid}/thumbnail.jpg",
            "A kite video",
            1080,
            1920,
        ),
    )


def test_a_bluesky_blob_whose_cid_would_change_the_cdn_path_is_dropped() -> None:
    embed = images_embed(2)
    embed["images"][0]["image"]["ref"]["$link"] = "../../avatar/plain/x"
    event = decode_event(make_post_event(ALICE, new_tid(), "x", embed=embed))
    assert event is not None and event.post is not None
    assert len(event.post.media) == 1 and event.post.media_types == ("photo",)


def test_bluesky_mentions_and_shortened_links_are_linked_from_the_facets() -> None:
    bob = fake_did("bob.bsky.social")
    event = decode_event(load("bluesky/jetstream_v1_post_create_link_facet_external_embed.json"))
    assert event is not None and event.post is not None
    assert event.post.to_json()["text_parts"] == [
        {
            "text": "www.youtube.com/watch?v=V5lD...",
            "href": "https://www.youtube.com/watch?v=V5lDo-jw8mA",
            "kind": "link",
        }
    ]
    mention = decode_event(
        make_post_event(ALICE, new_tid(), "hello @bob.bsky.social!", mention_dids={"bob.bsky.social": bob})
    )
    assert mention is not None and mention.post is not None
    assert mention.post.to_json()["text_parts"] == [
        {"text": "hello "},
        {"text": "@bob.bsky.social", "href": f"https://bsky.app/profile/{bob}", "kind": "mention"},
        {"text": "!"},
    ]


# -- Mastodon -------------------------------------------------------------------------------------------
def test_mastodon_samples_give_the_static_avatar_of_the_account() -> None:
    post = post_from_status(load("mastodon/status_hashtag_test_mastodon_social.json"))
    assert post.author.avatar_url == (
        "https://files.mastodon.social/accounts/avatars/000/014/715/original/e430cc93d56f5ac2.png"
    )
    assert post.media == ()


def test_mastodon_attachments_with_their_descriptions_and_sizes() -> None:
    status = make_status(
        "110000000000000001",
        "<p>look</p>",
        media=["image", "gifv", "audio", "video"],
        descriptions=["A heron in the reeds", None, "a song", "Waves"],
        base_url="https://example.social",
    )
    post = post_from_status(status)
    assert [(m.type, m.alt, m.width, m.height) for m in post.media] == [
        ("photo", "A heron in the reeds", 640, 480),
        ("animated_gif", None, 640, 480),
        ("video", "Waves", 640, 480),  # audio has no picture to show
    ]
    assert all(m.url and m.url.startswith("https://example.social/system/") for m in post.media)
    assert all(m.preview_url and m.preview_url.endswith("/small/file.png") for m in post.media)
    assert post.author.avatar_url == "https://example.social/avatars/original/missing.png"


def test_a_mastodon_content_warning_is_kept_apart_from_the_text_it_hides() -> None:
    status = make_status("110000000000000002", "<p>the ending</p>", spoiler_text="Film spoilers", sensitive=True)
    post = post_from_status(status)
    assert post.text == "Film spoilers\n\nthe ending"  # queries match the warning's words too
    data = post.to_json()
    assert data["content_warning"] == "Film spoilers" and data["sensitive"] is True
    assert data["text_parts"] == [{"text": "the ending"}]


def test_mastodon_mentions_link_to_the_profile_the_status_names() -> None:
    content = (
        '<p><span class="h-card"><a href="https://other.example/@bob" class="u-url mention">@<span>bob</span></a>'
        '</span> hi <a href="javascript:alert(1)" class="u-url mention">@<span>eve</span></a></p>'
    )
    post = post_from_status(make_status("110000000000000003", content, mentions=["bob@other.example"]))
    assert post.to_json()["text_parts"] == [
        {"text": "@bob", "href": "https://other.example/@bob", "kind": "mention"},
        {"text": " hi @eve"},
    ]


def test_a_mastodon_attachment_without_a_usable_url_is_dropped() -> None:
    status = make_status("110000000000000004", "<p>x</p>", media=["image", "image"])
    status["media_attachments"][0].update(url="ftp://example/x.png", preview_url=None, remote_url=None)
    post = post_from_status(status)
    assert len(post.media) == 1


# -- Bluesky avatars come with the profile look-up ----------------------------------------------------------
AVATARS = {"did:plc:good": "https://cdn.bsky.app/img/avatar/plain/did:plc:good/bafkrei@jpeg", "did:plc:bad": "x"}


def test_the_profile_cache_keeps_the_avatar_with_the_handle() -> None:
    alice = ("alice.bsky.social", "Alice")
    with (
        FakeProfiles(dict.fromkeys(AVATARS, alice), avatars=AVATARS) as profiles,
        closing(ProfileCache(profiles.url)) as cache,
    ):
        for did in AVATARS:
            cache.fill(replace(make_test_post(1), author=Author(did)))
        eventually(lambda: cache.known("did:plc:good") and cache.known("did:plc:bad"))
        assert cache.avatar("did:plc:good") == AVATARS["did:plc:good"]
        assert cache.avatar("did:plc:bad") is None  # not a URL: the card shows the initial
        post = replace(make_test_post(2), author=Author("did:plc:good"))
        cache.fill(post)
        assert (post.author.username, post.author.avatar_url) == ("alice.bsky.social", AVATARS["did:plc:good"])
