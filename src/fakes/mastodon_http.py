"""How the fake Mastodon writes its answers: the two JSON dialects (Node's ``JSON.stringify`` on the streaming
server, Rails' escaping in the API) and complete responses; and how it reads a boolean parameter."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from .server import FakeHandler

__all__ = ["js_dumps", "rails_dumps", "send_body", "send_json", "truthy"]

_FALSE_VALUES = {"0", "f", "F", "false", "FALSE", "off", "OFF"}


def _js_value(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, Mapping):
        return {key: _js_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_js_value(item) for item in value]
    return value


def js_dumps(value: Any) -> str:
    """``JSON.stringify``: compact, non-ASCII raw (U+2028 too), integral floats without ``.0``."""
    return json.dumps(_js_value(value), ensure_ascii=False, separators=(",", ":"))


_RAILS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_RAILS_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def rails_dumps(value: Any) -> str:
    """Rails' JSON for API answers: compact, with ``<``, ``>``, ``&``, U+2028/9 escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return _RAILS_ESCAPE_RE.sub(lambda m: _RAILS_ESCAPES[m.group(0)], text)


def send_body(
    h: FakeHandler, status: int, body: bytes, content_type: str, extra: Iterable[tuple[str, str]] = ()
) -> None:
    """Write a complete answer: status, ``Content-Type``, the ``extra`` headers, ``Content-Length``, body."""
    h.send_response(status)
    h.send_header("Content-Type", content_type)
    for name, value in extra:
        h.send_header(name, value)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


def send_json(
    h: FakeHandler, status: int, value: Any, extra: Iterable[tuple[str, str]] = (), *, rails: bool = True
) -> None:
    """A JSON answer as the API writes it (``rails``), or as the streaming server does (its errors)."""
    body = (rails_dumps(value) if rails else js_dumps(value)).encode()
    content_type = "application/json; charset=utf-8" if rails else "application/json"
    send_body(h, status, body, content_type, extra)


def truthy(value: str | None) -> bool:
    """A boolean query parameter as Rails reads it: present and not one of its false spellings."""
    return bool(value) and value not in _FALSE_VALUES
