"""The request/response endpoints of the fake X, together: stream rules (``x_rules_endpoint``), recent search
(``x_search_endpoint``) and oEmbed (``x_oembed``). ``FakeX`` adds the stream (``x_stream_endpoint``) and keeps
the state; each handler returns an ``Answer`` ``(status, body, extra headers)`` or raises ``InvalidRequest``
for X's 400.
"""

from __future__ import annotations

from .x_http import ID_PATTERN
from .x_oembed import XOEmbedEndpoint
from .x_rules_endpoint import XRulesEndpoint
from .x_search_endpoint import XSearchEndpoint, id_number

__all__ = ["ID_PATTERN", "Endpoints", "id_number"]


class Endpoints(XRulesEndpoint, XSearchEndpoint, XOEmbedEndpoint):
    """Rules, search and oEmbed handlers over ``FakeX``'s state."""
