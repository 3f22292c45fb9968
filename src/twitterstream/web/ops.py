"""Operations endpoints: liveness, readiness (with the source's state, in words) and metrics."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from prometheus_client import CollectorRegistry

from twitterstream.metrics import IngesterCollector, WebCollector, render
from twitterstream.store import Store, StoreUnavailable
from twitterstream.web.context import source_status, this_app

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """200 while the process runs."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """200 when the store answers (503 otherwise); the body says what the source is doing."""
    app = this_app()
    store: Store = app.extensions["store"]
    try:
        store.ping()
    except StoreUnavailable as exc:
        return jsonify(ready=False, store=f"unavailable: {exc}", source=None), 503
    status = source_status(app)
    status.pop("counters", None)
    return jsonify(ready=True, store="ok", source=status)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format: the ingester's counters (live, or its last snapshot) and this process's."""
    app = this_app()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngesterCollector(lambda: source_status(app).get("counters")))
    registry.register(WebCollector(app.extensions["hub"].open_streams))
    return Response(render(registry), mimetype="text/plain; version=0.0.4; charset=utf-8")
