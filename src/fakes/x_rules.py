"""A small, independent model of X's rule/query language: validation and matching for the fake X.

Written from x-api.md and X's operator docs, without looking at the application's own query parser, so the
two can disagree (that is the point: a test against this fake is a second opinion).

Grammar: terms separated by spaces are ANDed; ``OR`` (upper case only) ORs and binds looser than AND;
``(...)`` groups; ``-`` before a term or group negates it. Terms: keyword, ``"exact phrase"`` (optionally
``~N``), ``#hashtag``, ``@mention``, ``$cashtag`` and ``name:value`` operators (value may be quoted).

Validation (``validate``, ``parse``) is in ``x_rule_parser``, matching (``matches``) in ``x_rule_matcher``: each
module's docstring lists what it rejects or how simply it matches. This module gives them one name
(``x_rules.parse``, ``x_rules.matches`` ...), as the fake X uses them.
"""

from __future__ import annotations

from .x_rule_matcher import Document, document_for, matches
from .x_rule_parser import (
    CONJUNCTION_REQUIRED,
    HAS_VALUES,
    IS_VALUES,
    OPERATORS_DOC,
    STANDALONE,
    Node,
    RuleSyntaxError,
    Term,
    parse,
    validate,
)

__all__ = [
    "CONJUNCTION_REQUIRED",
    "HAS_VALUES",
    "IS_VALUES",
    "OPERATORS_DOC",
    "STANDALONE",
    "Document",
    "Node",
    "RuleSyntaxError",
    "Term",
    "document_for",
    "matches",
    "parse",
    "validate",
]
