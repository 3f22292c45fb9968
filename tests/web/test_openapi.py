"""The API described: a valid OpenAPI 3.1 document that names every public route, and real answers that
match its schemas; the /api page made from it; cross-origin reads of the public API."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harness import Harness
from helpers import make_post


def _doc(site: Harness) -> dict[str, Any]:
    answer = site.client.get("/api/v1/openapi.json")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/json"
    doc: dict[str, Any] = answer.get_json()
    return doc


def _check(doc: dict[str, Any], path: str, status: int, body: Any) -> None:
    """Validate ``body`` against what the document says ``GET path`` answers with ``status``."""
    schema = doc["paths"][path]["get"]["responses"][str(status)]["content"]["application/json"]["schema"]
    registry: Registry[Any] = Registry().with_resource("urn:api", Resource(contents=doc, specification=DRAFT202012))
    Draft202012Validator({"$ref": "urn:api#" + schema["$ref"][1:]}, registry=registry).validate(body)


def test_the_document_is_valid_openapi_3_1(store_site: Harness) -> None:
    doc = _doc(store_site)
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any violation of the OpenAPI 3.1 schema


def test_every_public_api_route_is_described(store_site: Harness) -> None:
    routes = {
        re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # Flask's <slug> is OpenAPI's {slug}
        for rule in store_site.app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        and "GET" in (rule.methods or ())
        and not rule.rule.startswith("/api/v1/admin")
    }
    assert routes == set(_doc(store_site)["paths"])


def test_real_answers_match_the_described_schemas(store_site: Harness) -> None:
    store_site.store.save_post(make_post(1, "cats"), ["cats"])
    store_site.store.save_post(make_post(2, "more cats", lang="en", embed_html="<p>x</p>"), ["cats"])
    doc = _doc(store_site)
    client = store_site.client
    cases = [
        ("/api/v1/results", "q=cats&limit=2", 200),
        ("/api/v1/results", "q=cats&before=2", 200),
        ("/api/v1/results", "q=cats&before=404", 400),
        ("/api/v1/results", "q=(cats", 400),
        ("/api/v1/pace", "q=cats", 200),
        ("/api/v1/pace", "", 400),
        ("/api/v1/stats", "q=cats&minutes=3", 200),
        ("/api/v1/stats", "q=cats&minutes=1441", 400),
        ("/api/v1/feed", "q=cats&format=pdf", 400),
        ("/api/v1/export", "q=cats&since=soon", 400),
        ("/api/v1/stream", "q=cats&limit=0", 400),
        ("/api/v1/stream", "q=cats&q=(dogs", 400),  # which q is wrong: q_index
        ("/api/v1/stream", "&".join(f"q=w{n}" for n in range(7)), 400),
    ]
    for path, params, status in cases:
        answer = client.get(f"{path}?{params}")
        assert answer.status_code == status, (path, params, answer.get_data(as_text=True))
        _check(doc, path, status, answer.get_json())
    posts = client.get("/api/v1/results?q=cats").get_json()["posts"]
    assert [p["id"] for p in posts] == ["2", "1"]


def test_a_stream_post_event_matches_the_described_stream_post(store_site: Harness) -> None:
    store_site.store.save_post(make_post(1, "cats and dogs"), ["cats", "dogs"])
    doc = _doc(store_site)
    for query in ("q=cats", "q=cats&q=dogs"):
        answer = store_site.client.get(f"/api/v1/stream?{query}", buffered=False)
        chunks = iter(answer.response)
        try:
            next(chunks)  # the status
            backlog = next(chunks).decode()
        finally:
            answer.close()
        data = orjson.loads(backlog.split("data: ", 1)[1].split("\n", 1)[0])
        registry: Registry[Any] = Registry().with_resource("urn:api", Resource(contents=doc, specification=DRAFT202012))
        Draft202012Validator({"$ref": "urn:api#/components/schemas/StreamPost"}, registry=registry).validate(data)
        assert data["queries"] == query.replace("q=", "").split("&")


def test_a_stream_status_event_matches_the_described_stream_status(store_site: Harness) -> None:
    doc = _doc(store_site)
    answer = store_site.client.get("/api/v1/stream?q=cats&q=dogs", buffered=False)
    try:
        first = next(iter(answer.response)).decode()
    finally:
        answer.close()
    assert first.startswith("retry: 2000\nevent: status\ndata: ")
    data = orjson.loads(first.split("data: ", 1)[1].split("\n", 1)[0])
    registry: Registry[Any] = Registry().with_resource("urn:api", Resource(contents=doc, specification=DRAFT202012))
    Draft202012Validator({"$ref": "urn:api#/components/schemas/StreamStatus"}, registry=registry).validate(data)
    assert data["networks"] == ["replay"] and list(data["sources"]) == ["replay"]


def test_described_content_types_are_the_ones_answered(store_site: Harness) -> None:
    doc = _doc(store_site)
    for path, params in [
        ("/api/v1/feed", "format=atom"),
        ("/api/v1/feed", "format=rss"),
        ("/api/v1/export", "format=csv"),
    ]:
        answer = store_site.client.get(f"{path}?q=cats&{params}")
        described = doc["paths"][path]["get"]["responses"]["200"]["content"]
        assert answer.mimetype in described


def test_the_api_page_is_made_from_the_document(store_site: Harness) -> None:
    doc = _doc(store_site)
    page = store_site.client.get("/api")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for path, methods in doc["paths"].items():
        for method, operation in methods.items():
            assert f'id="{operation["operationId"]}"' in html
            assert f"<code>{method.upper()} {path}</code>" in html
    assert "<code>before</code>" in html
    assert "csv, jsonl (default csv)" in html


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/results?q=cats",
        "/api/v1/feed?q=cats",
        "/api/v1/export?q=cats",
        "/api/v1/pace?q=cats",
        "/api/v1/stats?q=cats",
        "/api/v1/openapi.json",
    ],
)
def test_the_public_api_answers_cross_origin_reads(store_site: Harness, url: str) -> None:
    answer = store_site.client.get(url, headers={"Origin": "https://elsewhere.example"})
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "ETag" in answer.headers["Access-Control-Expose-Headers"]
    preflight = store_site.client.options(
        url,
        headers={
            "Origin": "https://elsewhere.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"].lower() == "if-none-match"


def test_pages_and_the_operator_api_answer_no_cross_origin_reads(store_site: Harness) -> None:
    for url in ["/", "/results/cats", "/api", "/embed?q=cats", "/healthz", "/api/v1/admin/queries"]:
        answer = store_site.client.get(url, headers={"Origin": "https://elsewhere.example"})
        assert "Access-Control-Allow-Origin" not in answer.headers, url
