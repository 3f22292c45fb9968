"""The API described: ``/api/v1/openapi.json`` (OpenAPI 3.1) and ``/api``, a readable page made from it."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template

from twitterstream.web.openapi_doc import document

bp = Blueprint("openapi", __name__)


@bp.get("/api/v1/openapi.json")
def description() -> Any:
    """The OpenAPI 3.1 description of every public ``/api/v1`` route."""
    return jsonify(document())


@bp.get("/api")
def reference() -> str:
    """The API reference page, generated from the same description."""
    doc = document()
    operations = [
        {"path": path, "method": method.upper(), **operation}
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    ]
    return render_template("api.html", info=doc["info"], operations=operations, schemas=doc["components"]["schemas"])
