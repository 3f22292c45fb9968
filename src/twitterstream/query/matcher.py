"""Tree to function: each query is compiled once into a closure that takes :class:`PostFeatures`.

Matching never raises. Operators the local matcher cannot evaluate (``bio:``, ``place:``, ``has:geo`` ...)
evaluate as false, so ``-bio:x`` evaluates as true: callers must refuse such queries first
(``Query.unsupported``), as the ingester does.
"""

from __future__ import annotations

from collections.abc import Callable

from twitterstream.query.ast import (
    And,
    Cashtag,
    Flag,
    Hashtag,
    Keyword,
    Mention,
    Node,
    Not,
    Operator,
    Or,
    Phrase,
    Proximity,
    Term,
)
from twitterstream.query.features import PostFeatures
from twitterstream.query.operators import LANGUAGE_ALIASES, LOCAL_OPERATORS
from twitterstream.query.tokens import fold, fold_phrase, is_plain_word, joins, tokenize

Matcher = Callable[[PostFeatures], bool]


def compile_tree(node: Node) -> Matcher:
    """A function telling whether a post's features match ``node``."""
    if isinstance(node, And):
        return _all([compile_tree(child) for child in node.children])
    if isinstance(node, Or):
        return _any([compile_tree(child) for child in node.children])
    if isinstance(node, Not):
        inner = compile_term(node.child)
        return lambda f: not inner(f)
    return compile_term(node)


def compile_term(term: Term) -> Matcher:
    """A function telling whether a post's features match one term."""
    if isinstance(term, Keyword):
        return _sequence(tokenize(term.text))
    if isinstance(term, Phrase):
        return _phrase(term.text)
    if isinstance(term, Proximity):
        return _proximity(tokenize(term.text), term.distance)
    if isinstance(term, Hashtag):
        hashtag = fold(term.value)
        return lambda f: hashtag in f.hashtags
    if isinstance(term, Mention):
        mention = fold(term.value)
        return lambda f: mention in f.mentions
    if isinstance(term, Cashtag):
        cashtag = fold(term.value)
        return lambda f: cashtag in f.cashtags
    if isinstance(term, Flag):
        return _FLAGS.get(term.name, _never)
    if term.name not in LOCAL_OPERATORS:
        return _never
    return _VALUE_OPERATORS[term.name](term)


def _never(features: PostFeatures) -> bool:
    return False


def _all(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 2:
        first, second = matchers
        return lambda f: first(f) and second(f)

    def match_all(f: PostFeatures) -> bool:
        return all(matcher(f) for matcher in matchers)

    return match_all


def _any(matchers: list[Matcher]) -> Matcher:
    if len(matchers) == 2:
        first, second = matchers
        return lambda f: first(f) or second(f)

    def match_any(f: PostFeatures) -> bool:
        return any(matcher(f) for matcher in matchers)

    return match_any


# -- text ------------------------------------------------------------------------------------------------


def _sequence(tokens: list[str]) -> Matcher:
    """One token: membership. Several: all present, then as an adjacent run in the text or the quoted text."""
    if len(tokens) == 1:
        token = tokens[0]
        return lambda f: token in f.token_set
    needed = frozenset(tokens)
    return lambda f: needed <= f.token_set and any(has_run(seq, tokens) for seq in f.token_lists())


def has_run(haystack: list[str], run: list[str]) -> bool:
    """True if ``run`` occurs in ``haystack`` as adjacent items."""
    first, size = run[0], len(run)
    start = 0
    try:
        while True:
            start = haystack.index(first, start)
            if haystack[start : start + size] == run:
                return True
            start += 1
    except ValueError:
        return False


def _phrase(text: str) -> Matcher:
    needle = fold_phrase(text)
    # Every plain token of the phrase is a token of any text containing it: a cheap test before the search.
    needed = frozenset(t for t in tokenize(needle) if is_plain_word(t))
    check_start, check_end = joins(needle[0]), joins(needle[-1])

    def match(f: PostFeatures) -> bool:
        if not needed <= f.token_set:
            return False
        return any(_find_phrase(hay, needle, check_start, check_end) for hay in f.phrase_texts())

    return match


def _find_phrase(hay: str, needle: str, check_start: bool, check_end: bool) -> bool:
    """True if ``needle`` occurs in ``hay`` starting and ending on token boundaries."""
    size = len(needle)
    start = hay.find(needle)
    while start >= 0:
        end = start + size
        if not (check_start and start > 0 and joins(hay[start - 1])) and not (
            check_end and end < len(hay) and joins(hay[end])
        ):
            return True
        start = hay.find(needle, start + 1)
    return False


def _proximity(tokens: list[str], distance: int) -> Matcher:
    needed = frozenset(tokens)
    return lambda f: needed <= f.token_set and any(within(seq, tokens, distance) for seq in f.token_lists())


def within(haystack: list[str], words: list[str], slop: int) -> bool:
    """X's proximity: positions p_i for the words (distinct) with max(p_i - i) - min(p_i - i) <= ``slop``.

    This is Lucene's sloppy phrase distance, which is what X documents: words in order may have up to N tokens
    between them; in the opposite order, up to N - 2.
    """
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(haystack):
        positions.setdefault(token, []).append(index)
    candidates = [positions.get(word, []) for word in words]
    if not all(candidates):
        return False
    offsets = sorted({p - i for i, found in enumerate(candidates) for p in found})
    for low in offsets:
        window = [[p for p in found if low <= p - i <= low + slop] for i, found in enumerate(candidates)]
        if all(window) and _distinct_choice(window):
            return True
    return False


def _distinct_choice(options: list[list[int]]) -> bool:
    """True if one position can be picked from each list, none picked twice (a bipartite matching)."""
    owner: dict[int, int] = {}

    def assign(index: int, seen: set[int]) -> bool:
        for position in options[index]:
            if position in seen:
                continue
            seen.add(position)
            if position not in owner or assign(owner[position], seen):
                owner[position] = index
                return True
        return False

    return all(assign(index, set()) for index in range(len(options)))


# -- operators -------------------------------------------------------------------------------------------


def _from(term: Operator) -> Matcher:
    value = fold(term.value)
    return lambda f: value in f.authors()


def _to(term: Operator) -> Matcher:
    value = fold(term.value)
    return lambda f: value in f.reply_to()


def _url(term: Operator) -> Matcher:
    tokens = tokenize(term.value)
    needed = frozenset(tokens)
    return lambda f: (
        bool(f.post.urls) and needed <= f.url_token_set() and any(has_run(seq, tokens) for seq in f.url_tokens())
    )


def _lang(term: Operator) -> Matcher:
    code = term.value
    primary, _, region = code.partition("-")
    names = LANGUAGE_ALIASES.get(primary, frozenset({primary}))
    if region:
        accepted = frozenset(f"{name}-{region}" for name in names)
        return lambda f: not accepted.isdisjoint(f.langs()[0])
    if primary == "und":  # X's "undetermined": also a post no service classified
        return lambda f: "und" in f.langs()[1] or not f.langs()[0]
    return lambda f: not names.isdisjoint(f.langs()[1])


def _source(term: Operator) -> Matcher:
    name = term.value
    return lambda f: f.post.delivered_by == name


_VALUE_OPERATORS: dict[str, Callable[[Operator], Matcher]] = {
    "from": _from,
    "to": _to,
    "url": _url,
    "lang": _lang,
    "source": _source,
}

_VIDEO_TYPES = frozenset({"video", "animated_gif"})

_FLAGS: dict[str, Matcher] = {
    "is:retweet": lambda f: f.post.is_retweet,
    "is:reply": lambda f: f.post.is_reply,
    "is:quote": lambda f: f.post.is_quote,
    "is:verified": lambda f: f.post.author.verified is True,
    "has:links": lambda f: bool(f.post.urls),
    "has:media": lambda f: bool(f.post.media_types),
    "has:images": lambda f: "photo" in f.post.media_types,
    "has:video_link": lambda f: not _VIDEO_TYPES.isdisjoint(f.post.media_types),
    "has:mentions": lambda f: bool(f.post.mentions),
    "has:hashtags": lambda f: bool(f.post.hashtags),
    "has:cashtags": lambda f: bool(f.post.cashtags),
}
