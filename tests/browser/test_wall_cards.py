"""Cards in Chromium: a post drawn by the page itself, with its avatar, linked entities, media and alt text.

The replay source reads X stream messages and Jetstream events; the services' picture hosts answer with a
small PNG (conftest), except the addresses a test breaks on purpose.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest
from playwright.sync_api import expect

from browser_server import WATCH_CSP, Server, append_lines, stream_line
from fakes.jetstream import fake_did, images_embed, make_post_event, new_tid

pytestmark = pytest.mark.browser

#: What the page's images look like: every <img> in a card either shows a picture or is gone.
NO_BROKEN_IMAGES = "() => [...document.querySelectorAll('#posts img')].every(i => i.complete && i.naturalWidth > 0)"
#: A card as a list of what a reader meets: elements with their links, pictures and words.
CARD_SHAPE = """card => [...card.querySelectorAll('*')].map(e => [e.tagName, e.className, e.getAttribute('href') || '',
  e.getAttribute('src') || '', e.getAttribute('alt') || '', e.hidden, e.children.length ? '' : e.textContent.trim()])"""


def rich_line(post_id: int, seconds: int, *, avatar: str, photo: str, sensitive: bool = False) -> bytes:
    """An X stream message with a hashtag, a mention, a link, a photo with alt text and a video, and its author's
    avatar (as the stream sends them when asked for the expansions)."""
    text = "Sunset at the pier #nyc with @wall_friend https://t.co/abc123 https://t.co/pic999"
    message = {
        "data": {
            "id": str(post_id),
            "text": text,
            "author_id": "7",
            "created_at": f"2026-11-01T12:{seconds // 60:02d}:{seconds % 60:02d}.000Z",
            "lang": "en",
            "possibly_sensitive": sensitive,
            "entities": {
                "hashtags": [{"start": 19, "end": 23, "tag": "nyc"}],
                "mentions": [{"start": 29, "end": 41, "username": "wall_friend"}],
                "urls": [
                    {
                        "start": 42,
                        "end": 65,
                        "url": "https://t.co/abc123",
                        "expanded_url": "https://example.com/pier",
                        "display_url": "example.com/pier",
                    },
                    {
                        "start": 66,
                        "end": 89,
                        "url": "https://t.co/pic999",
                        "expanded_url": f"https://x.com/wall_tester/status/{post_id}/photo/1",
                        "display_url": "pic.x.com/pic999",
                        "media_key": "3_1",
                    },
                ],
            },
            "attachments": {"media_keys": ["3_1", "7_2"]},
        },
        "includes": {
            "users": [{"id": "7", "username": "wall_tester", "name": "Wall Tester", "profile_image_url": avatar}],
            "media": [
                {"media_key": "3_1", "type": "photo", "url": photo, "alt_text": "The pier at dusk", "width": 1200,
                 "height": 800},
                {"media_key": "7_2", "type": "video", "preview_image_url": "https://pbs.twimg.com/ext_tw_video_thumb/2/pu/img/p.jpg",
                 "width": 1280, "height": 720},
            ],
        },
    }  # fmt: skip
    return orjson.dumps(message) + b"\n"


GOOD_AVATAR = "https://pbs.twimg.com/profile_images/7/wall_tester_normal.jpg"
GOOD_PHOTO = "https://pbs.twimg.com/media/pier.jpg"
BROKEN_AVATAR = "https://pbs.twimg.com/profile_images/7/broken_normal.jpg"
BROKEN_PHOTO = "https://pbs.twimg.com/media/broken.jpg"


@pytest.fixture
def replay_file(tmp_path: Path) -> Path:
    path = tmp_path / "capture.jsonl"
    append_lines(path, stream_line(1001, "first post about #nyc", 1))
    return path


@pytest.fixture
def server_env() -> dict[str, str]:
    """Sensitive posts shown (behind their warning), so that the warning can be tested too."""
    return {"TWITTERSTREAM_SHOW_SENSITIVE": "true"}


@pytest.fixture
def wall(server: Server, page: Any) -> Any:
    """The #nyc wall, live, with broken picture addresses answering 404 and CSP violations recorded."""
    page.route("**/*broken*", lambda route: route.fulfill(status=404, body=b"gone"))
    page.add_init_script(WATCH_CSP)
    page.goto(f"{server.url}/results/%23nyc")
    expect(page.locator("#posts .post")).to_have_count(1)
    expect(page.locator("#live-status")).to_contain_text("Live")
    return page


def unexpected_errors(page: Any) -> list[str]:
    """Console errors other than the 404s of the pictures broken on purpose."""
    return [e for e in page.problems.errors if "broken" not in e]


def test_a_live_post_is_a_card_with_avatar_links_media_and_alt_text(
    server: Server, wall: Any, replay_file: Path
) -> None:
    append_lines(replay_file, rich_line(2001, 5, avatar=GOOD_AVATAR, photo=GOOD_PHOTO))
    card = wall.locator('#posts .post[data-id="2001"] .card')
    expect(card.locator(".avatar img")).to_have_attribute("src", GOOD_AVATAR)
    expect(card.locator(".name")).to_have_text("Wall Tester")
    expect(card.locator(".handle")).to_have_text("@wall_tester")
    expect(card.get_by_role("img", name="X")).to_have_class("source-icon source-x")
    expect(card.locator(".text a.hashtag")).to_have_attribute("href", "/results/%23nyc")
    expect(card.locator(".text a.mention")).to_have_attribute("href", "https://x.com/wall_friend")
    link = card.locator(".text a.link")
    expect(link).to_have_text("example.com/pier")  # X's display form, leading to the expanded URL
    expect(link).to_have_attribute("href", "https://example.com/pier")
    expect(card.locator(".text")).not_to_contain_text("pic.x.com")  # the media grid shows the photo itself
    photo = card.get_by_role("img", name="The pier at dusk")
    expect(photo).to_have_attribute("src", GOOD_PHOTO)
    expect(card.locator(".media-video .media-badge")).to_have_text("Video")
    expect(card.locator(".media .media-item")).to_have_count(2)
    expect(card.locator("time.ago")).to_have_attribute("datetime", "2026-11-01T12:00:05.000Z")
    wall.wait_for_function(NO_BROKEN_IMAGES)
    assert wall.evaluate("window.cspViolations") == []
    assert wall.problems.errors == []


def test_the_server_draws_the_same_card_as_the_page(server: Server, wall: Any, replay_file: Path) -> None:
    append_lines(replay_file, rich_line(2001, 5, avatar=GOOD_AVATAR, photo=GOOD_PHOTO))
    card = wall.locator('#posts .post[data-id="2001"] .card')
    expect(card.locator(".media img").first).to_be_visible()
    live = card.evaluate(CARD_SHAPE)
    wall.reload()
    expect(card.locator(".media img").first).to_be_visible()
    assert card.evaluate(CARD_SHAPE) == live


def test_a_missing_avatar_or_photo_shows_a_clean_placeholder(server: Server, wall: Any, replay_file: Path) -> None:
    append_lines(replay_file, rich_line(2002, 6, avatar=BROKEN_AVATAR, photo=BROKEN_PHOTO))
    for how in ("arrived live", "rendered by the server"):
        card = wall.locator('#posts .post[data-id="2002"] .card')
        expect(card.locator(".avatar"), how).to_have_text("W")  # the initial, no picture over it
        expect(card.locator(".avatar img"), how).to_have_count(0)
        missing = card.locator(".media-photo")
        expect(missing.locator(".media-missing"), how).to_be_visible()
        expect(missing.locator(".media-missing"), how).to_have_text("The pier at dusk")
        expect(missing.locator("img"), how).to_have_count(0)
        expect(card.locator(".media-video img"), how).to_be_visible()  # the other picture still shows
        wall.wait_for_function(NO_BROKEN_IMAGES)
        wall.reload()
    assert wall.evaluate("window.cspViolations") == []
    assert unexpected_errors(wall) == []


def test_a_sensitive_post_waits_behind_a_click(server: Server, wall: Any, replay_file: Path) -> None:
    append_lines(replay_file, rich_line(2003, 7, avatar=GOOD_AVATAR, photo=GOOD_PHOTO, sensitive=True))
    card = wall.locator('#posts .post[data-id="2003"] .card')
    expect(card.locator(".warning summary")).to_contain_text("Possibly sensitive")
    expect(card.locator(".text")).to_be_hidden()
    expect(card.locator(".media")).to_be_hidden()
    card.locator(".warning summary").click()
    expect(card.locator(".text")).to_be_visible()
    expect(card.get_by_role("img", name="The pier at dusk")).to_be_visible()


def test_a_bluesky_post_shows_its_images_from_the_cdn_with_alt_text(
    server: Server, wall: Any, replay_file: Path
) -> None:
    did = fake_did("alice.bsky.social")
    embed = images_embed(2, alt="Snow on the benches")
    event = make_post_event(did, new_tid(), "A walk in the snow #nyc", embed=embed)
    append_lines(replay_file, orjson.dumps(event) + b"\n")
    card = wall.locator('#posts .post[data-source="bluesky"] .card')
    expect(card.get_by_role("img", name="Bluesky")).to_be_visible()
    images = card.get_by_role("img", name="Snow on the benches")
    expect(images).to_have_count(2)
    cid = embed["images"][0]["image"]["ref"]["$link"]
    expect(images.first).to_have_attribute("src", f"https://cdn.bsky.app/img/feed_thumbnail/plain/{did}/{cid}@jpeg")
    expect(images.first.locator("xpath=..")).to_have_attribute(
        "href", f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg"
    )
    expect(card.locator(".text a.hashtag")).to_have_attribute("href", "/results/%23nyc")
    wall.wait_for_function(NO_BROKEN_IMAGES)
    assert wall.evaluate("window.cspViolations") == []


def test_a_hashtag_opens_the_wall_of_that_tag(server: Server, wall: Any, replay_file: Path) -> None:
    append_lines(replay_file, stream_line(2004, "lights on the #nyc #Pier tonight", 8))
    wall.locator('#posts .post[data-id="2004"] .text a.hashtag', has_text="#Pier").click()
    wall.wait_for_url("**/results/%23Pier")
    expect(wall.locator("h1 .query-text")).to_have_text("#pier")  # the canonical form of the query
    expect(wall.locator('#posts .post[data-id="2004"]')).to_be_visible()
