"""Fuzzing every route (issue 11): whatever path, query string, form or header a client throws, the answer is
never a 5xx and never shows a traceback. On both stores, behind a trusted proxy (so X-Forwarded-For is read).

The routes come from the app's own URL map, so that a blueprint added later is fuzzed too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import Harness, running_app
from twitterstream.config import Settings
from twitterstream.store import Store

_CONVERTER = re.compile(r"<(?:[a-z]+:)?[a-z_]+>")


def route_templates(app: Flask) -> list[tuple[str, tuple[str, ...]]]:
    """Every rule of the app with the methods it answers, its variable parts left as ``<...>``."""
    return sorted(
        (rule.rule, tuple(sorted(m for m in rule.methods or () if m in ("GET", "POST", "HEAD"))))
        for rule in app.url_map.iter_rules()
    )


#: Text people and scripts throw: long runs, deep parentheses, odd unicode, percent garbage, operators.
hostile_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=900, max_size=2100),
    st.integers(0, 3000).map(lambda n: "(" * n + "a" + ")" * n),
    st.integers(1, 3000).map(lambda n: "(" * n),
    st.binary(max_size=40).map(lambda raw: "".join(f"%{b:02X}" for b in raw)),
    st.sampled_from(
        ["%", "%%", "%zz", "%C0%AF", "%00", "\x00", "\u202e", "\ufeff", "\U0001d54f", "-", "OR", "from:", "lang:"]
    ),
    st.lists(st.sampled_from(["cats", "-dogs", "OR", "(", ")", '"', "#nyc", "@x", "lang:en", "is:retweet"])).map(
        " ".join
    ),
)
#: Queries that parse, so that the fuzz also goes past parsing into the views and the live streams.
good_query = st.one_of(
    st.from_regex(r"[a-z]{1,12}", fullmatch=True),
    st.sampled_from(["#nyc", "cats OR dogs", '"new york" -is:retweet', "(a OR b) c", "lang:en cats", "@alice"]),
)
#: Header values as a client can send them (latin-1, no line breaks: HTTP has no others).
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=300
)


@pytest.fixture
def site(settings: Settings, tmp_path: Path, any_store: Store) -> Iterator[Harness]:
    # limits high enough that the fuzz reaches past them into every view (the limits have their own tests)
    roomy = settings.with_overrides(
        trusted_proxies=1, new_queries_per_minute=100_000, streams_per_client=100_000, max_queries=100_000
    )
    with running_app(roomy, tmp_path, start_ingester=False, store=any_store) as harness:
        yield harness


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(data=st.data())
def test_no_input_on_any_route_gets_a_5xx_or_a_traceback(site: Harness, data: st.DataObject) -> None:
    routes = route_templates(site.app)
    template, methods = routes[data.draw(st.integers(0, len(routes) - 1), label="route")]
    part = st.one_of(good_query, hostile_text)
    path = _CONVERTER.sub(lambda _: data.draw(part, label="path part").replace("?", "%3F"), template)
    path = path.replace("#", "%23") or "/"
    method = data.draw(st.sampled_from(methods or ("GET",)), label="method")
    query_string = data.draw(
        st.one_of(
            st.fixed_dictionaries(
                {"q": good_query}, optional={"limit": st.integers(-5, 200).map(str), "last_event_id": header_text}
            ).map(lambda args: "&".join(f"{k}={v.replace('&', '%26').replace('#', '%23')}" for k, v in args.items())),
            st.dictionaries(st.sampled_from(["q", "limit", "last_event_id", "x"]), hostile_text, max_size=3).map(
                lambda args: "&".join(f"{k}={v.replace('&', '%26').replace('#', '%23')}" for k, v in args.items())
            ),
            st.dictionaries(st.sampled_from(["q", "limit"]), st.text(max_size=30), max_size=2).map(
                lambda args: "&".join(f"{k}={v}" for k, v in args.items())
            ),
            st.lists(st.one_of(good_query, hostile_text), max_size=8).map(  # several q: streams, columns
                lambda qs: "&".join(f"q={v.replace('&', '%26').replace('#', '%23')}" for v in qs)
            ),
        ),
        label="query string",
    )
    headers = data.draw(
        st.dictionaries(st.sampled_from(["Last-Event-ID", "X-Forwarded-For", "X-Forwarded-Proto"]), header_text),
        label="headers",
    )
    form = data.draw(st.dictionaries(st.sampled_from(["query", "csrf_token"]), hostile_text, max_size=2), label="form")
    answer = site.client.open(
        path,
        method=method,
        query_string=query_string.encode("utf-8", "surrogatepass").decode("latin-1"),
        headers=headers,
        data=form if method == "POST" else None,
        buffered=False,
    )
    try:
        if answer.mimetype == "text/event-stream":  # a live stream: its first bytes, then it is closed
            body = next(iter(answer.response), b"").decode("utf-8", "replace")
        else:
            body = answer.get_data(as_text=True)
    finally:
        answer.close()
    assert answer.status_code < 500, f"{method} {path}?{query_string} {headers}: {answer.status_code} {body[:300]}"
    assert "Traceback" not in body and 'File "' not in body


@pytest.mark.parametrize(
    ("query", "message", "position"),
    [
        ("(" * 500 + "a" + ")" * 500, "Too many nested parentheses (more than 40)", 41),
        ("(" * 5000 + "a" + ")" * 5000, "limited to 1,024 characters", 1025),  # too long before it is too deep
        ("-(" * 100 + "a" + ")" * 100, "Too many nested parentheses (more than 40)", 81),
        ("a " * 600, "limited to 1,024 characters", 1025),
    ],
)
def test_deep_or_long_queries_are_a_400_with_the_position_on_every_route(
    site: Harness, query: str, message: str, position: int
) -> None:
    for route in ("/api/v1/results", "/api/v1/stream", "/api/v1/pace"):
        answer = site.client.get(route, query_string={"q": query})
        assert answer.status_code == 400
        assert message in answer.get_json()["error"]["message"]
        assert answer.get_json()["error"]["position"] == position
    page = site.client.get("/results/" + query.replace(" ", "%20"))
    assert page.status_code == 400 and message in page.get_data(as_text=True)


@pytest.mark.parametrize(
    "last_event_id", ["", " ", "x" * 5000, "\x00", "1\x002", "-1", "99999999999999999999", "🐈", "%00"]
)
def test_last_event_id_garbage_is_ignored(site: Harness, last_event_id: str) -> None:
    header = last_event_id.encode("utf-8").decode("latin-1")
    answer = site.client.get("/api/v1/stream?q=cats", headers={"Last-Event-ID": header}, buffered=False)
    try:
        assert answer.status_code == 200
        assert next(iter(answer.response)).startswith(b"retry:")
    finally:
        answer.close()
