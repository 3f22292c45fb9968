"""The pages and the JSON API: routes, bad input, security headers. No input produces a 500."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from flask.testing import FlaskClient

import twitterstream.web
from harness import Harness, eventually, running_app
from helpers import make_post
from twitterstream.config import Settings


@pytest.fixture
def site(settings: Settings, tmp_path: Path) -> Iterator[Harness]:
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        yield harness


@pytest.fixture
def csrf_site(settings: Settings, tmp_path: Path) -> Iterator[FlaskClient]:
    from twitterstream import create_app

    app = create_app({"SETTINGS": settings, "INSTANCE_PATH": str(tmp_path), "TESTING": True})
    yield app.test_client()
    app.extensions["hub"].stop()
    app.extensions["store"].close()


def test_the_form_posts_to_the_results_page_url_encoded(site: Harness) -> None:
    page = site.client.get("/")
    assert page.status_code == 200
    assert 'name="query"' in page.get_data(as_text=True)
    answer = site.client.post("/", data={"query": "  #NYC  "})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/results/%23NYC"
    answer = site.client.post("/", data={"query": 'pizza "new york" -is:retweet'})
    assert answer.headers["Location"] == "/results/pizza%20%22new%20york%22%20-is:retweet"


def test_the_form_refuses_a_post_without_its_csrf_token(csrf_site: FlaskClient) -> None:
    answer = csrf_site.post("/", data={"query": "cats"})
    assert answer.status_code == 400
    assert "The form expired" in answer.get_data(as_text=True)
    page = csrf_site.get("/").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    assert csrf_site.post("/", data={"query": "cats", "csrf_token": token}).status_code == 303


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "Type something to watch"),
        ("   ", "Type something to watch"),
        ("cats or dogs", "Ambiguous use of or as a keyword"),
        ("-cats", "Rules must contain a non-negation term"),
        ("(cats", "(at position"),
        ("x" * 1100, "limited to 1,024 characters"),
        ("cats\x00dogs", "(at position 5)"),
        ("cats\x07", "(at position 5)"),
    ],
)
def test_a_bad_query_re_renders_the_form_with_what_is_wrong_and_where(site: Harness, query: str, message: str) -> None:
    answer = site.client.post("/", data={"query": query})
    assert answer.status_code == 400
    body = answer.get_data(as_text=True)
    assert message in body
    assert "Traceback" not in body


def test_the_error_marks_the_position_and_keeps_the_query(site: Harness) -> None:
    body = site.client.post("/", data={"query": "cats or dogs"}).get_data(as_text=True)
    assert "(at position 6)" in body
    assert "<code>cats <mark>o</mark>r dogs</code>" in body
    assert 'value="cats or dogs"' in body


def test_html_in_a_query_is_shown_escaped(site: Harness) -> None:
    answer = site.client.get("/results/%3Cscript%3Ealert(1)%3C/script%3E")
    body = answer.get_data(as_text=True)
    assert answer.status_code in (200, 400)
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_html_in_a_post_is_shown_escaped_on_the_page(site: Harness) -> None:
    site.store.save_post(make_post(1, '<script>alert("x")</script> <img src=x onerror=alert(2)> #cats'), ["#cats"])
    body = site.client.get("/results/%23cats").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
    assert "<img src=x" not in body


def test_results_without_a_query_go_back_to_the_form_with_a_message(site: Harness) -> None:
    answer = site.client.get("/results")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"
    assert "Type a search term" in site.client.get("/").get_data(as_text=True)


def test_posting_to_a_results_page_renders_the_form_with_the_query(site: Harness) -> None:
    answer = site.client.post("/results/%23nyc")
    assert answer.status_code == 200
    assert 'value="#nyc"' in answer.get_data(as_text=True)


def test_the_results_page_shows_the_latest_newest_first_and_keeps_more_on_request(site: Harness) -> None:
    for post_id in range(1, 31):
        site.store.save_post(make_post(post_id, f"post {post_id} #nyc"), ["#nyc"])
    body = site.client.get("/results/%23NYC").get_data(as_text=True)
    assert body.count("data-id=") == 10
    assert body.index('data-id="30"') < body.index('data-id="21"')
    assert 'data-id="20"' not in body
    assert site.client.get("/results/%23nyc?limit=25").get_data(as_text=True).count("data-id=") == 25
    assert site.client.get("/results/%23nyc?limit=7").get_data(as_text=True).count("data-id=") == 10
    assert [w.key for w in site.store.watched()] == ["#nyc"]  # viewing watches it


def test_unknown_pages_answer_the_friendly_404_and_json_under_the_api(site: Harness) -> None:
    page = site.client.get("/no/such/page")
    assert page.status_code == 404
    assert "Nothing here" in page.get_data(as_text=True)
    api = site.client.get("/api/v1/nope")
    assert api.status_code == 404
    assert api.get_json()["error"]["message"] == "no such endpoint: /api/v1/nope"


def test_the_api_answers_results_and_errors_as_the_contract_says(site: Harness) -> None:
    site.store.save_post(make_post(1, "cats"), ["cats"])
    body = site.client.get("/api/v1/results?q=cats").get_json()
    assert body["query"] == "cats" and body["source"] == "replay"
    assert body["posts"][0] == {
        "id": "1",
        "source": "x",
        "url": "https://x.com/someone/status/1",
        "text": "cats",
        "created_at": "2026-11-01T12:00:01.000Z",
        "author": {"id": "42", "username": "someone", "name": "Some One", "avatar_url": None},
        "lang": None,
        "media": [],
        "sensitive": False,
        "content_warning": None,
        "text_parts": [{"text": "cats"}],
        "embed_html": None,
    }
    bad = site.client.get("/api/v1/results?q=cats%20or%20dogs")
    assert bad.status_code == 400
    assert bad.get_json()["error"]["position"] == 6
    assert "Ambiguous use of or" in bad.get_json()["error"]["message"]
    for limit in ("0", "101", "ten", "-1"):
        answer = site.client.get(f"/api/v1/results?q=cats&limit={limit}")
        assert answer.status_code == 400
        assert "limit must be" in answer.get_json()["error"]["message"]
    assert site.client.get("/api/v1/results").status_code == 400
    assert site.client.get("/api/v1/stream").status_code == 400


def test_security_headers_are_on_every_page(site: Harness) -> None:
    for path in ("/", "/results/cats", "/nope", "/api/v1/results?q=cats"):
        headers = site.client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "script-src 'self' https://platform.twitter.com" in csp
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
        directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";"))
        assert directives["style-src"] == "'self'"
        assert directives["img-src"].split() == [
            "'self'",
            "data:",
            "https://pbs.twimg.com",
            "https://abs.twimg.com",
            "https://cdn.bsky.app",
            "https://video.bsky.app",
        ]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_health_readiness_and_metrics(site: Harness) -> None:
    assert site.client.get("/healthz").status_code == 200
    ready = site.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["store"] == "ok"
    assert ready.get_json()["source"]["state"] == "stopped"  # no ingester runs in this test
    assert "no ingester is running" in ready.get_json()["source"]["reason"]
    metrics = site.client.get("/metrics").get_data(as_text=True)
    for name in (
        "twitterstream_posts_received_total",
        "twitterstream_posts_matched_total",
        "twitterstream_watched_queries",
        "twitterstream_source_reads_total",
        "twitterstream_source_reconnects_total",
    ):
        assert f"\n{name} " in metrics


def test_a_new_query_fills_from_the_recent_window_before_the_first_paint(settings: Settings, tmp_path: Path) -> None:
    replay = Path(settings.replay_file)
    replay.write_text(
        '{"data":{"id":"5","text":"window post #fresh","entities":{"hashtags":[{"start":12,"end":18,"tag":"fresh"}]}}}\n'
    )
    with running_app(settings, tmp_path) as site:
        eventually(lambda: site.ingester is not None and len(site.ingester.window) == 1)
        body = site.client.get("/results/%23fresh").get_data(as_text=True)
        assert 'data-id="5"' in body


def test_a_new_query_keeps_its_newest_window_matches_once_each(settings: Settings, tmp_path: Path) -> None:
    keep = 5
    lines = [
        f'{{"data":{{"id":"{n}","text":"{"cats" if n % 3 else "dogs"} number {n}"}}}}\n' for n in range(1, 31)
    ]  # 20 posts with cats, the newest being 29 and 28
    Path(settings.replay_file).write_text("".join(lines))
    with running_app(replace(settings, keep_per_query=keep), tmp_path) as site:
        eventually(lambda: site.ingester is not None and len(site.ingester.window) == 30)
        site.results("cats")  # starts watching; the API does not wait for the fill
        eventually(lambda: len(site.store.latest("cats", 100)) >= keep)
        assert [p["id"] for p in site.results("cats", limit=3)] == ["29", "28", "26"]
        site.ingester.flush()
        # the newest `keep` of the 20, newest first, each stored once
        assert [p.id for p in site.store.latest("cats", 100)] == ["29", "28", "26", "25", "23"]
        assert site.ingester.counters.posts_matched == keep


def test_only_the_first_view_of_a_query_waits_for_its_first_posts(
    site: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[dict[str, str]] = []
    real_wait = site.store.wait_for_events

    def counting_wait(cursors: dict[str, str], timeout: float) -> list:  # type: ignore[type-arg]
        waits.append(cursors)
        return real_wait(cursors, 0)

    monkeypatch.setattr(site.store, "wait_for_events", counting_wait)
    assert site.client.get("/results/nothing-matches-this").status_code == 200
    assert site.client.get("/results/nothing-matches-this").status_code == 200
    assert len(waits) == 1


def test_without_an_x_token_the_pages_say_what_to_set(tmp_path: Path) -> None:
    from twitterstream.config import load_settings

    settings = load_settings({}, env_file=None)
    assert settings.source == "bluesky"
    with running_app(settings, tmp_path, start_ingester=False) as site:
        body = site.client.get("/").get_data(as_text=True)
        assert "X_BEARER_TOKEN is not set" in body
    explicit = load_settings({"TWITTERSTREAM_SOURCE": "bluesky"}, env_file=None)
    with running_app(explicit, tmp_path / "b", start_ingester=False) as site:
        assert "X_BEARER_TOKEN" not in site.client.get("/").get_data(as_text=True)


def test_no_template_or_script_relies_on_inline_styles() -> None:
    """The CSP has no ``style-src 'unsafe-inline'``: a style attribute or block would simply be ignored."""
    web = Path(twitterstream.web.__path__[0])
    for path in [*web.glob("templates/*.html"), *web.glob("static/*.js")]:
        source = path.read_text()
        for pattern in ("<style", " style=", '.setAttribute("style', "cssText", "insertRule"):
            assert pattern not in source, f"{path.name}: {pattern}"


def test_a_mastodon_wall_lets_in_images_and_frames_of_its_instance_only(settings: Settings, tmp_path: Path) -> None:
    settings = settings.with_overrides(source="mastodon", mastodon_url="https://example.social")
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        csp = harness.client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";"))
    # the instance and, by default, its files host (where mastodon.social keeps media and avatars)
    assert directives["img-src"].split()[-2:] == ["https://example.social", "https://files.example.social"]
    assert directives["frame-src"].split()[-1] == "https://example.social"
    assert "'unsafe-inline'" not in csp


def test_mastodon_media_hosts_replace_the_files_host(settings: Settings, tmp_path: Path) -> None:
    settings = settings.with_overrides(
        source="mastodon", mastodon_url="https://example.social", mastodon_media_hosts=("https://cdn.example.net",)
    )
    with running_app(settings, tmp_path, start_ingester=False) as harness:
        csp = harness.client.get("/").headers["Content-Security-Policy"]
    directives = dict(d.strip().partition(" ")[::2] for d in csp.split(";"))
    assert directives["img-src"].split()[-2:] == ["https://example.social", "https://cdn.example.net"]
