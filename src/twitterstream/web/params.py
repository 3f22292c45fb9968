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


#: How many posts the results page can keep; the first is the default.
LIMIT_CHOICES = (10, 25, 100)


def limit_choice(raw: str | None) -> int:
    """The ``?limit=`` of a page if it is one of the choices, else the default (400 if not a number)."""
    limit = whole_number(raw, "limit", 1, LIMIT_CHOICES[-1], LIMIT_CHOICES[0])
    return limit if limit in LIMIT_CHOICES else LIMIT_CHOICES[0]


#: Longest post id accepted in ``before`` (X ids are 19 digits, Bluesky's did/rkey about 60 characters).
MAX_POST_ID = 256


def post_id(raw: str, name: str = "before") -> str:
    """A post id as the API gives it (a paging cursor); a 400 for anything that cannot be one."""
    if not raw or len(raw) > MAX_POST_ID or not raw.isprintable() or any(c.isspace() for c in raw):
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        raise BadRequest(f"{name} must be the id of a post of these results, as the API gives it (got {shown!r})")
    return raw
