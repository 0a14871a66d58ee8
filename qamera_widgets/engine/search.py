"""The library's search box: which pictures a query finds, as a pure function of the query and the text.

People remember a few words of a prompt, not its order, its capitals or its accents: "walnut morning" must
find "Rustic walnut table, morning window light", and "creme brulee" must find "Crème brûlée". So every word
of the query has to occur somewhere in the name or the prompt, in any order, after both are folded the same
way (compatibility decomposition, combining marks dropped, case folded).

A comparison's pictures carry the prompt each expansion sent, not the template, so a query may be written in
the template's own syntax: ``{oak|marble} countertop`` finds every picture that template made (oak OR marble,
AND countertop), and a half-typed ``{oak`` finds the oak ones while the brace is still open.
Pure functions, no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Query", "fold", "matches", "parse_query"]

_WORD = re.compile(r"\w+")


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """The form both sides are compared in: no accents, no case, compatibility forms spelled out.

    Case folding can bring marks back (the dotted capital I folds to "i" plus a combining dot), so the
    marks are stripped on both sides of it; folding a folded text changes nothing.
    """
    return _strip_marks(_strip_marks(text).casefold())


@dataclass(frozen=True)
class Query:
    """What a search asks for: every term must match; a term matches when any of its alternatives does,
    and an alternative matches when all of its words occur. A plain word is a term of one alternative."""

    terms: tuple[tuple[tuple[str, ...], ...], ...]

    @property
    def empty(self) -> bool:
        return not self.terms


def _words(text: str) -> tuple[str, ...]:
    return tuple(_WORD.findall(fold(text)))


def parse_query(query: str) -> Query:
    """Split the box's text into terms; braces group alternatives separated by "|", as in a template.

    Punctuation outside words is ignored (a comma copied from a prompt must not stop the match), and an
    unclosed brace runs to the end, so the query is forgiving while it is being typed.
    """
    terms: list[tuple[tuple[str, ...], ...]] = []
    position = 0
    while position < len(query):
        start = query.find("{", position)
        plain = query[position:] if start < 0 else query[position:start]
        terms.extend(((word,),) for word in _words(plain.replace("|", " ").replace("}", " ")))
        if start < 0:
            break
        end = query.find("}", start + 1)
        group = query[start + 1 :] if end < 0 else query[start + 1 : end]
        alternatives = tuple(words for words in (_words(a) for a in group.split("|")) if words)
        if alternatives:
            terms.append(alternatives)
        position = len(query) if end < 0 else end + 1
    return Query(tuple(terms))


def matches(query: Query | str, *texts: str) -> bool:
    """Whether the texts (a picture's name and prompt) together hold every term of the query.

    An empty query (or one of punctuation only) matches everything: there is nothing to filter by.
    """
    parsed = parse_query(query) if isinstance(query, str) else query
    if parsed.empty:
        return True
    haystack = "\n".join(fold(t) for t in texts)
    return all(
        any(all(word in haystack for word in alternative) for alternative in term) for term in parsed.terms
    )
