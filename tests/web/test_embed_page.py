"""The embeddable wall: a compact page only the configured origins may frame; every other page refuses."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from html import unescape
from pathlib import Path

import pytest

from harness import Harness, running_app
from helpers import make_post
from twitterstream.config import ConfigError, Settings, load_settings

ORIGINS = ("https://news.example", "https://*.blog.example:8443")


@pytest.fixture
def framed_site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(replace(settings, frame_ancestors=ORIGINS), tmp_path, start_ingester=False) as harness:
        yield harness


def test_the_wall_shows_the_latest_posts_as_text_and_follows_the_stream(store_site: Harness) -> None:
    store_site.store.save_post(make_post(1, "<script>alert(1)</script> cats", username="ann"), ["cats"])
    store_site.store.save_post(make_post(2, "more cats", username="bob"), ["cats"])
    answer = store_site.client.get("/embed?q=cats")
    assert answer.status_code == 200
    html = answer.get_data(as_text=True)
    assert html.index('data-id="2"') < html.index('data-id="1"')  # newest first
    assert "&lt;script&gt;alert(1)&lt;/script&gt; cats" in html
    assert "<script>alert" not in html
    assert 'data-stream-url="/api/v1/stream?q=cats&amp;limit=10"' in html
    assert '<script src="/static/embed.js" defer></script>' in html
    assert store_site.client.get("/static/embed.js").status_code == 200
    assert [w.key for w in store_site.store.watched()] == ["cats"]  # an embedded wall is a view


def test_by_default_nobody_may_frame_the_wall(store_site: Harness) -> None:
    answer = store_site.client.get("/embed?q=cats")
    csp = answer.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp
    assert answer.headers["X-Frame-Options"] == "DENY"


def test_the_configured_origins_may_frame_the_wall_and_nothing_else(framed_site: Harness) -> None:
    answer = framed_site.client.get("/embed?q=cats")
    assert answer.status_code == 200
    directives = [d.strip() for d in answer.headers["Content-Security-Policy"].split(";")]
    assert "frame-ancestors https://news.example https://*.blog.example:8443" in directives
    assert "script-src 'self'" in directives
    assert "X-Frame-Options" not in answer.headers
    for url in ["/", "/results/cats", "/api", "/embed"]:  # /embed without a query is an error page
        other = framed_site.client.get(url)
        assert "frame-ancestors 'none'" in other.headers["Content-Security-Policy"], url
        assert other.headers["X-Frame-Options"] == "DENY", url


@pytest.mark.parametrize(
    ("url", "message"), [("/embed", "Type something to watch"), ("/embed?q=(cats", "is never closed (at position 1)")]
)
def test_a_wall_without_a_valid_query_is_a_400_page(store_site: Harness, url: str, message: str) -> None:
    answer = store_site.client.get(url)
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert "/embed?q=QUERY" in answer.get_data(as_text=True)


def test_the_results_page_offers_the_snippet_to_copy(store_site: Harness) -> None:
    html = store_site.client.get("/results/%23nyc%20%22big%20apple%22").get_data(as_text=True)
    shown = html.split('<textarea id="embed-code" readonly rows="3">', 1)[1].split("</textarea>", 1)[0]
    # What a person copies is the textarea's text: valid HTML whose attribute values are escaped.
    assert unescape(shown) == (
        '<iframe src="http://localhost/embed?q=%23nyc+%22big+apple%22" title="Live posts: #nyc &#34;big apple&#34;" '
        'width="400" height="600" loading="lazy"></iframe>'
    )


def test_frame_ancestors_accepts_origins_and_refuses_anything_else() -> None:
    read = load_settings({"TWITTERSTREAM_FRAME_ANCESTORS": " https://a.example  'self' http://localhost:8000 "}, None)
    assert read.frame_ancestors == ("https://a.example", "'self'", "http://localhost:8000")
    assert load_settings({}, None).frame_ancestors == ()
    for bad in ["https://a.example; script-src *", "*", "a.example", "javascript:alert(1)", "https://a.example/path"]:
        with pytest.raises(ConfigError, match="TWITTERSTREAM_FRAME_ANCESTORS"):
            load_settings({"TWITTERSTREAM_FRAME_ANCESTORS": bad}, None)


def test_an_operators_wall_embeds_with_its_title_its_shown_posts_and_its_stream(
    settings: Settings, tmp_path: Path
) -> None:
    from twitterstream.config import Secret

    auth = {"Authorization": "Bearer operator-pass"}
    with running_app(
        replace(settings, frame_ancestors=ORIGINS, admin_password=Secret("operator-pass")),
        tmp_path,
        start_ingester=False,
    ) as site:
        body = {"title": "Cats <live>", "query": "cats", "approval": True}
        assert site.client.put("/api/v1/admin/walls/cats", json=body, headers=auth).status_code == 201
        site.store.save_post(make_post(1, "approved cats"), ["cats"])
        site.store.save_post(make_post(2, "waiting cats"), ["cats"])
        site.client.post("/api/v1/admin/walls/cats/posts/x/1/approve", headers=auth)
        answer = site.client.get("/embed/wall/cats")
        assert answer.status_code == 200
        html = answer.get_data(as_text=True)
        assert "Cats &lt;live&gt;" in html and "<live>" not in html
        assert 'data-id="1"' in html and 'data-id="2"' not in html  # approval: only what the operator let through
        assert 'data-stream-url="/api/v1/walls/cats/stream?limit=10"' in html
        assert "frame-ancestors https://news.example" in answer.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in answer.headers
        assert site.client.get("/embed/wall/nope").status_code == 404
        # The wall's own page offers the wall's embed, never its query's feed, export or embed (past approval).
        page = site.client.get("/wall/cats").get_data(as_text=True)
        assert "http://localhost/embed/wall/cats" in page
        assert "/embed?q=" not in page and "/api/v1/feed" not in page and "/api/v1/export" not in page
