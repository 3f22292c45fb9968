"""Media URLs of a post (for feeds and export): Bluesky image blobs on the public CDN, Mastodon attachments."""

from __future__ import annotations

from typing import Any

from samples import load
from twitterstream.sources.bluesky_payload import decode_event
from twitterstream.sources.mastodon_payload import post_from_status


def test_a_bluesky_images_embed_gives_each_image_its_cdn_url() -> None:
    event = decode_event(load("bluesky/jetstream_v1_post_create_link_tag_facets_images_embed.json"))
    assert event.post is not None
    assert event.post.media_urls == (
        "https://cdn.bsky.app/img/feed_fullsize/plain/did:plc:ynfp6wddjqpl44gordpsqkuw/"
        "bafkreidrnwt23f7wy7fyfex5acdkxh62wsgpg245ame4c4rogfwb3upyaa@jpeg",
    )
    assert event.post.media_types == ("photo",)


def _status(attachments: list[Any]) -> dict[str, Any]:
    return {
        "id": "1",
        "uri": "https://social.example/users/ann/statuses/1",
        "url": "https://social.example/@ann/1",
        "created_at": "2026-01-01T12:00:00.000Z",
        "content": "<p>cats</p>",
        "account": {"id": "7", "acct": "ann"},
        "media_attachments": attachments,
    }


def test_mastodon_attachments_give_their_urls_and_a_remote_one_when_not_yet_copied() -> None:
    post = post_from_status(
        _status(
            [
                {"type": "image", "url": "https://files.social.example/a.jpg"},
                {"type": "video", "url": None, "remote_url": "https://elsewhere.example/b.mp4"},
                {"type": "unknown", "url": None, "remote_url": None},
            ]
        )
    )
    assert post.media_urls == ("https://files.social.example/a.jpg", "https://elsewhere.example/b.mp4")
    assert post_from_status(_status([])).media_urls == ()
