"""Sensitive posts: labelled by their service, hidden by default, shown behind their content warning when set."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import running_app
from helpers import make_post
from samples import load
from twitterstream.config import ConfigError, Settings, load_settings
from twitterstream.sources.bluesky_payload import decode_event
from twitterstream.sources.mastodon_payload import post_from_status
from twitterstream.sources.x_payload import decode_stream_line


def test_each_service_label_makes_a_post_sensitive_with_its_content_warning() -> None:
    status = load("mastodon/status_hashtag_test_mastodon_social.json")
    warned = post_from_status({**status, "spoiler_text": "spoilers for the finale", "sensitive": False})
    assert warned.sensitive and warned.content_warning == "spoilers for the finale"
    flagged = post_from_status({**status, "sensitive": True, "spoiler_text": ""})
    assert flagged.sensitive and flagged.to_json()["content_warning"] == "Possibly sensitive"
    assert not post_from_status(status).sensitive

    record = {"text": "hi", "createdAt": "2026-07-04T14:38:07.323Z"}
    labels = {"values": [{"val": "nudity"}, {"val": "porn"}, {"val": "nudity"}]}
    commit = {"operation": "create", "collection": "app.bsky.feed.post", "rkey": "r1", "cid": "c"}
    event = decode_event(
        {
            "did": "did:plc:me",
            "time_us": 1,
            "kind": "commit",
            "commit": {**commit, "record": {**record, "labels": labels}},
        }
    )
    assert event is not None and event.post is not None
    assert event.post.sensitive and event.post.content_warning == "Labelled by the author: nudity, porn"

    line = b'{"data": {"id": "1", "text": "hi", "author_id": "9", "possibly_sensitive": true}}'
    message = decode_stream_line(line)
    assert message is not None and len(message.posts) == 1
    assert message.posts[0].sensitive and message.posts[0].to_json()["content_warning"] == "Possibly sensitive"


def test_post_json_says_whether_a_post_is_sensitive_and_behind_which_warning() -> None:
    plain = make_post(1).to_json()
    assert plain["sensitive"] is False and plain["content_warning"] is None
    shown = make_post(2, sensitive=True, content_warning="war").to_json()
    assert shown["sensitive"] is True and shown["content_warning"] == "war"


def test_the_setting_is_read_and_checked() -> None:
    assert load_settings({}, env_file=None).show_sensitive is False
    assert load_settings({"TWITTERSTREAM_SHOW_SENSITIVE": "true"}, env_file=None).show_sensitive is True
    with pytest.raises(ConfigError, match="TWITTERSTREAM_SHOW_SENSITIVE"):
        load_settings({"TWITTERSTREAM_SHOW_SENSITIVE": "perhaps"}, env_file=None)


@pytest.mark.parametrize("show", [False, True])
def test_sensitive_posts_are_hidden_unless_shown_and_then_behind_their_warning(
    settings: Settings, tmp_path: Path, show: bool
) -> None:
    with running_app(settings.with_overrides(show_sensitive=show), tmp_path, start_ingester=False) as harness:
        harness.store.save_post(make_post(1, "cats"), ["cats"])
        harness.store.save_post(make_post(2, "cats", sensitive=True, content_warning="cat fight"), ["cats"])
        assert [p["id"] for p in harness.results("cats")] == (["2", "1"] if show else ["1"])
        page = harness.client.get("/results/cats").get_data(as_text=True)
        assert ("cat fight" in page) is show
        if show:
            assert '<details class="warning">' in page and '<span class="warning-label">cat fight</span>' in page
            assert page.count('<article class="post"') == 2
