"""The query language: X's filtered-stream rule syntax, parsed, validated, canonicalised and matched locally.

Public names::

    parse(text, *, max_length=1024) -> Query        # raises QueryError
    Query.text / .key / .tree / .operators / .unsupported(capabilities) / .matches(post)
    QueryError(message, position)                    # a ValueError
    QueryIndex: add(key, query), remove(key), match(post) -> [key, ...]
    PostFeatures.of(post)                            # what matching needs, computed once per post
    LOCAL_OPERATORS                                  # what the local matcher evaluates
    tokenize(text) -> [token, ...]                   # X-style, case-folded

Modules: ``errors`` (the exception and its messages), ``tables`` and ``tokens`` (tokenization), ``ast`` (the
tree), ``operators`` (the operator table), ``parser`` (text to tree), ``canonical`` (tree to key),
``features`` (post to what the matcher reads), ``matcher`` (tree to function), ``query`` (``Query`` and
``parse``), ``index`` (many queries against a stream).
"""

from twitterstream.query.errors import QueryError
from twitterstream.query.features import PostFeatures
from twitterstream.query.index import QueryIndex
from twitterstream.query.operators import LOCAL_OPERATORS
from twitterstream.query.query import Query, parse
from twitterstream.query.tokens import tokenize

__all__ = ["LOCAL_OPERATORS", "PostFeatures", "Query", "QueryError", "QueryIndex", "parse", "tokenize"]
