"""Every real sample decodes into the right Post: the fields are asserted, not just 'no exception'."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson

from samples import SAMPLES, compact_line, load
from twitterstream.sources.bluesky_payload import decode_event
from twitterstream.sources.mastodon_payload import html_to_text, post_from_status
from twitterstream.sources.x_payload import decode_stream_line, posts_from_page, snowflake_time


# -- X -----------------------------------------------------------------------------------------
def test_x_stream_message_with_includes() -> None:
    message = decode_stream_line(compact_line("x/stream_message_with_includes.json"))
    assert message is not None
    [post] = message.posts
    assert post.id == "1359517868925280258"
    assert post.source == "x"
    assert post.url == "https://x.com/VillageFederal/status/1359517868925280258"
    assert post.text.startswith("Prochain défi, pouvoir choisir son vaccin.")
    assert "&amp;" not in post.text and "malades & du nosocomial" in post.text  # HTML entities decoded
    assert post.created_at == datetime(2021, 2, 10, 15, 1, 33, tzinfo=UTC)
    assert (post.author.id, post.author.username) == ("126115852", "VillageFederal")
    assert post.author.name == "Le Village Fédéral"
    assert post.author.verified is False
    assert post.lang == "fr"
    assert post.hashtags == ("COVID19",)
    assert post.urls == (
        "https://t.co/FcxreY6TDX",
        "https://twitter.com/VillageFederal/status/1359517868925280258/photo/1",
    )
    assert post.media_types == ("photo",)  # from the media key's prefix: no media expansion in this capture
    assert not (post.is_retweet or post.is_reply or post.is_quote)
    assert message.rule_ids == ["1359517181646635008"]  # a JSON number on the wire, a string here
    assert message.rule_tags == ["test"]


def test_x_stream_keepalive_is_none_and_rule_without_tag_is_tolerated() -> None:
    assert decode_stream_line(b"\r\n") is None
    assert decode_stream_line(b"") is None
    line = b'{"data":{"id":"5","text":"hi"},"matching_rules":[{"id":"7"},{"id":8,"tag":null}]}'
    message = decode_stream_line(line)
    assert message is not None
    assert message.rule_ids == ["7", "8"]
    assert message.rule_tags == ["", ""]
    assert message.posts[0].author.id == ""
    assert message.posts[0].url == "https://x.com/i/web/status/5"


def test_x_post_without_created_at_takes_its_time_from_the_snowflake_id() -> None:
    message = decode_stream_line(b'{"data":{"id":"1578516068309794817","text":"x"}}')
    assert message is not None
    assert message.posts[0].created_at == snowflake_time("1578516068309794817")
    assert message.posts[0].created_at.year == 2022


def test_x_operational_disconnect() -> None:
    message = decode_stream_line(compact_line("x/stream_operational_disconnect.json"))
    assert message is not None
    assert message.posts == []
    assert message.errors[0]["disconnect_type"] == "OperationalDisconnect"


def test_x_recent_search_pages() -> None:
    posts = posts_from_page(load("x/recent_search.json"))
    assert len(posts) == 10
    assert posts[0].id == "1578516068309794817"
    assert posts[0].text == "2022-10-07 22:42:12.637103 tweepy"

    posts = posts_from_page(load("x/recent_search_with_expansions.json"))
    assert [p.id for p in posts] == [
        "1646675888308908033",
        "1646659361614479360",
        "1646656124664389633",
        "1646517609700130830",
    ]
    first = posts[0]
    assert first.hashtags == ("NorthKorea", "missile", "ICBM", "Japan")
    assert first.created_at == datetime(2023, 4, 14, 0, 45, tzinfo=UTC)  # "+00:00" form, as twarc writes it
    assert "https://t.co/Qb6EULhFGc" in first.urls
    assert any(u.startswith("https://www.improvethenews.org/") for u in first.urls)
    assert first.author.username is not None


def test_x_retweet_reply_and_quote_flags() -> None:
    line = orjson.dumps(
        {
            "data": {
                "id": "10",
                "text": "look at this",
                "author_id": "1",
                "in_reply_to_user_id": "2",
                "referenced_tweets": [{"type": "quoted", "id": "9"}, {"type": "replied_to", "id": "8"}],
            },
            "includes": {
                "users": [{"id": "1", "username": "a"}, {"id": "2", "username": "bob"}],
                "tweets": [{"id": "9", "text": "the quoted words"}],
            },
        }
    )
    message = decode_stream_line(line)
    assert message is not None
    post = message.posts[0]
    assert post.is_quote and post.is_reply and not post.is_retweet
    assert post.quoted_text == "the quoted words"
    assert post.reply_to == ("2", "bob")


# -- Bluesky -------------------------------------------------------------------------------------
def test_bluesky_post_with_tag_facets() -> None:
    event = decode_event(load("bluesky/jetstream_v1_post_create_tag_facets.json"))
    assert event is not None and event.post is not None
    post = event.post
    assert post.id == "did:plc:tn3hni2jpphsgl6amfbb7ja6/3mptbypfywk2v"
    assert post.key == "bluesky:did:plc:tn3hni2jpphsgl6amfbb7ja6/3mptbypfywk2v"
    assert post.url == "https://bsky.app/profile/did:plc:tn3hni2jpphsgl6amfbb7ja6/post/3mptbypfywk2v"
    assert post.hashtags == ("HowToTellAiToShutUp", "IndieRebellion")
    assert post.lang == "de"
    assert post.created_at == datetime(2026, 7, 4, 14, 38, 7, 323000, tzinfo=UTC)
    assert post.author.id == "did:plc:tn3hni2jpphsgl6amfbb7ja6"
    assert post.extra["cid"] == "bafyreifjsh3dec2j6d7nqh7l4ipfd6xbtpv5tf6lqk2fpsx77aa4uyypim"
    assert post.extra["uri"] == "at://did:plc:tn3hni2jpphsgl6amfbb7ja6/app.bsky.feed.post/3mptbypfywk2v"
    assert event.time_us == 1783175888172335


def test_bluesky_post_with_link_and_tag_facets_and_images() -> None:
    event = decode_event(load("bluesky/jetstream_v1_post_create_link_tag_facets_images_embed.json"))
    assert event is not None and event.post is not None
    post = event.post
    assert post.hashtags == ("talesatwonderworld", "balanwonderworldoc")
    assert post.urls == (
        "https://www.tumblr.com/tempo-tales/765681292369166336/behind-them-timmi-and-wankyu-follow-silently-but?source=share",
    )
    assert post.media_types == ("photo",)
    assert post.lang == "es" and post.extra["langs"] == ["es", "en"]


def test_bluesky_link_facet_and_external_embed() -> None:
    event = decode_event(load("bluesky/jetstream_v1_post_create_link_facet_external_embed.json"))
    assert event is not None and event.post is not None
    assert event.post.urls == ("https://www.youtube.com/watch?v=V5lDo-jw8mA",)
    assert event.post.media_types == ()
    assert event.post.text == "www.youtube.com/watch?v=V5lD..."


def test_bluesky_reply() -> None:
    event = decode_event(load("bluesky/jetstream_v1_post_create_reply.json"))
    assert event is not None and event.post is not None
    assert event.post.is_reply
    assert event.post.reply_to == ("did:plc:vqr6qcne2dya6o46z2citxdk",)


def test_bluesky_delete_identity_and_account() -> None:
    event = decode_event(load("bluesky/jetstream_v1_post_delete.json"))
    assert event is not None
    assert event.post is None
    assert event.deleted_key == "bluesky:did:plc:4smmjsqf6l5jkzczvw6vsrqc/3mpt73z3ejc2p"
    assert decode_event(load("bluesky/jetstream_v1_identity.json")) is None
    assert decode_event(load("bluesky/jetstream_v1_account.json")) is None


def test_bluesky_mentions_use_utf8_byte_offsets_and_other_collections_are_skipped() -> None:
    text = "héllo @alice.bsky.social 👋"
    start = len("héllo ".encode())
    end = start + len(b"@alice.bsky.social")
    event = decode_event(
        {
            "did": "did:plc:me",
            "time_us": 1,
            "kind": "commit",
            "commit": {
                "operation": "create",
                "collection": "app.bsky.feed.post",
                "rkey": "r1",
                "cid": "c",
                "record": {
                    "text": text,
                    "createdAt": "2026-07-04T14:38:07.323Z",
                    "facets": [
                        {
                            "index": {"byteStart": start, "byteEnd": end},
                            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:alice"}],
                        }
                    ],
                    "tags": ["extra"],
                    "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "porn"}]},
                    "embed": {"$type": "app.bsky.embed.record", "record": {"uri": "at://x", "cid": "y"}},
                },
            },
        }
    )
    assert event is not None and event.post is not None
    assert event.post.mentions == ("did:plc:alice", "alice.bsky.social")
    assert event.post.hashtags == ("extra",)
    assert event.post.is_quote
    assert event.post.sensitive and event.post.extra["adult"]
    like = {"did": "d", "time_us": 2, "kind": "commit"}
    like["commit"] = {"collection": "app.bsky.feed.like", "operation": "create", "rkey": "r"}
    assert decode_event(like) is None


# -- Mastodon ---------------------------------------------------------------------------------------
def test_mastodon_status_from_the_docs() -> None:
    post = post_from_status(load("mastodon/status_hashtag_test_mastodon_social.json"))
    assert post.id == "108914430312582020"
    assert post.source == "mastodon"
    assert post.url == "https://mastodon.social/@trwnh/108914430312582020"
    assert post.text == "#test"
    assert post.hashtags == ("test",)
    assert post.lang == "en"
    assert (post.author.id, post.author.username, post.author.name) == ("14715", "trwnh", "infinite love ⴳ")
    assert post.created_at == datetime(2022, 8, 30, 23, 31, 58, 6000, tzinfo=UTC)
    assert post.urls == ()  # the hashtag link is not a link to count
    assert not post.is_reply and not post.is_retweet and not post.sensitive


def test_mastodon_remote_status_with_tags() -> None:
    status = load("mastodon/status_remote_with_tags_ruby_social.json")
    post = post_from_status(status)
    assert post.id == status["id"]
    assert post.hashtags == tuple(t["name"] for t in status["tags"])
    assert post.author.username == status["account"]["acct"]
    assert "<" not in post.text and post.text


def test_mastodon_sse_sample_carries_the_same_status() -> None:
    raw = (SAMPLES / "mastodon/sse_hashtag_update_event.txt").read_text()
    data_line = next(line for line in raw.splitlines() if line.startswith("data: "))
    assert post_from_status(orjson.loads(data_line[6:])).id == "108914430312582020"


def test_mastodon_html_to_text_keeps_breaks_and_finds_links() -> None:
    text, links = html_to_text(
        '<p>Hello <a href="https://ex.com/a" rel="nofollow"><span class="invisible">https://</span>'
        "<span>ex.com/a</span></a><br>next &amp; last</p><p>"
        '<a href="https://m.s/tags/x" class="mention hashtag" rel="tag">#<span>x</span></a> '
        '<span class="h-card"><a href="https://m.s/@bob" class="u-url mention">@<span>bob</span></a></span></p>'
    )
    assert text == "Hello https://ex.com/a\nnext & last\n\n#x @bob"
    assert links == ["https://ex.com/a"]


def test_mastodon_reblog_is_a_repost_of_the_inner_status() -> None:
    inner = load("mastodon/status_hashtag_test_mastodon_social.json")
    outer = {
        "id": "999",
        "created_at": "2022-09-01T00:00:00.000Z",
        "url": None,
        "uri": "https://m.s/1",
        "content": "",
        "reblog": inner,
        "account": {"id": "5", "acct": "booster"},
    }
    post = post_from_status(outer)
    assert post.is_retweet
    assert post.id == "999"
    assert post.hashtags == ("test",)
    assert post.author.username == "booster"
