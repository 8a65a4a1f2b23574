"""Folding titles for search and sorting: one definition shared by the scanner and the queries."""

from __future__ import annotations

import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_ARTICLES = ("the ", "a ", "an ")
# Latin letters that Unicode does not decompose into a base letter plus a mark.
_UNDECOMPOSABLE = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "þ": "th", "ð": "d", "ı": "i"}  # noqa: RUF001
)


def fold(text: str) -> str:
    """Lower case, accents stripped, punctuation as single spaces: 'Amélie!' -> 'amelie'."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", bare.casefold().translate(_UNDECOMPOSABLE)).strip()


def sort_title(text: str) -> str:
    """The folded title without a leading English article, so 'The Matrix' sorts under M."""
    folded = fold(text)
    for article in _ARTICLES:
        if folded.startswith(article) and len(folded) > len(article):
            return folded[len(article) :]
    return folded
