"""Numbers from a request, read strictly: ASCII digits only, within a range, else a 400 naming the parameter.

``str.isdigit`` and ``int`` accept far more than a person types in a URL (``²``, ``①``, ``٣``, ``1_000``,
`` 7``): every number read from a request goes through :func:`whole_number` instead.
"""

from __future__ import annotations

import re

from werkzeug.exceptions import BadRequest

_DIGITS = re.compile(r"[0-9]{1,9}")


def whole_number(raw: str | None, name: str, low: int, high: int, default: int) -> int:
    """``raw`` as an int in ``low..high`` (``default`` when absent); a 400 that says what is allowed otherwise."""
    if raw is None:
        return default
    if _DIGITS.fullmatch(raw) is None or not low <= int(raw) <= high:
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        raise BadRequest(f"{name} must be a whole number from {low} to {high} (got {shown!r})")
    return int(raw)
