"""What every payload decoder shares: one error for whatever a garbled payload breaks inside it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import orjson

from twitterstream.errors import DecodeError

P = ParamSpec("P")
R = TypeVar("R")


def decoder(what: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Make a decoder raise :class:`DecodeError` (naming ``what`` it decodes) for a payload whose shape is not
    its format's: a missing key, a wrong type or a bad value deep inside, so callers catch one error."""

    def wrap(decode: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(decode)
        def decoded(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return decode(*args, **kwargs)
            except DecodeError:
                raise
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
                raise DecodeError(f"{what} is garbled ({type(exc).__name__}: {exc})") from exc

        return decoded

    return wrap


def load_json(raw: str | bytes, what: str) -> Any:
    """``orjson.loads``, raising :class:`DecodeError` for text that is not JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"{what} is not JSON ({exc})") from exc
