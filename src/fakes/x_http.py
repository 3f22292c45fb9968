"""HTTP plumbing of the fake X: request recording, rate-limit windows, query parameters, page tokens and answers
(the server is ``server.py``'s)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .server import FakeHandler
from .x_errors import InvalidRequest, param_error

#: A post or rule id as X accepts it in a query or a body.
ID_PATTERN = re.compile(r"[0-9]{1,19}")


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received (recorded before latency and before any checks)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names; Authorization kept
    body: bytes
    time: float  # time.time()

    def param(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class RateWindow:
    """One endpoint's 15-minute window."""

    limit: int
    used: int = 0
    reset: float = 0.0

    def take(self, now: float, length: float) -> bool:
        if now >= self.reset:
            self.used, self.reset = 0, now + length
        self.used += 1
        return self.used <= self.limit

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(max(0, self.limit - self.used)),
            "x-rate-limit-reset": str(int(self.reset)),
        }


def first_param(query: Mapping[str, list[str]], name: str) -> str | None:
    """The first value of a query parameter, None when absent."""
    values = query.get(name)
    return values[0] if values else None


def int_param(query: Mapping[str, list[str]], name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter between ``low`` and ``high`` (``default`` when absent); X's 400 otherwise."""
    raw = first_param(query, name)
    if raw is None:
        return default
    if not raw.strip().lstrip("-").isdigit() or not low <= int(raw) <= high:
        raise InvalidRequest(
            [param_error(name, [raw], f"The `{name}` query parameter value [{raw}] is not between {low} and {high}")]
        )
    return int(raw)


def page_token(tokens: dict[str, tuple[str, str]], rng: random.Random, kind: str, cursor: str, length: int = 45) -> str:
    """A fresh ``next_token`` remembered in ``tokens`` with what it continues (``kind``, ``cursor``); the caller
    holds the fake's lock."""
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    token = "".join(rng.choice(alphabet) for _ in range(length))
    tokens[token] = (kind, cursor)
    return token


def send_answer(
    handler: FakeHandler, status: int, body: dict[str, Any] | str | bytes | None, headers: Mapping[str, str]
) -> None:
    """Write a complete response: JSON for dicts (``application/problem+json`` for X's problem bodies, as X
    labels them), text for str/bytes; ``headers`` may override the content type."""
    if isinstance(body, dict):
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        problem = status >= 400 and "title" in body and "type" in body
        content_type = "application/problem+json" if problem else "application/json; charset=utf-8"
    elif isinstance(body, str):
        payload, content_type = body.encode(), "text/plain; charset=utf-8"
    else:
        payload, content_type = body or b"", "text/plain; charset=utf-8"
    headers = {k.lower(): v for k, v in headers.items()}
    content_type = headers.pop("content-type", content_type)
    try:
        handler.send_response(status)
        handler.send_header("content-type", content_type)
        handler.send_header("content-length", str(len(payload)))
        handler.send_header("cache-control", "no-cache, no-store, max-age=0")
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(payload)
    except OSError:
        handler.close_connection = True


def read_body(handler: FakeHandler) -> bytes:
    """The request body (Content-Length or chunked)."""
    if handler.headers.get("transfer-encoding", "").lower() == "chunked":
        data = b""
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return data
            data += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("content-length") or 0)
    return handler.rfile.read(length) if length else b""
