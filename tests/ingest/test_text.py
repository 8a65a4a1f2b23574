from __future__ import annotations

import pytest

from ingest.text import fold, sort_title


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Amélie", "amelie"),
        ("  The  Matrix: Reloaded!! ", "the matrix reloaded"),
        ("Ångström & Søn", "angstrom son"),
        ("WALL·E", "wall e"),
        ("Crème_brûlée", "creme brulee"),
        ("東京物語", "東京物語"),
        ("🎬 Film", "film"),
        ("", ""),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("The Matrix", "matrix"),
        ("A Bug's Life", "bug s life"),
        ("An", "an"),
        ("Theory", "theory"),
        ("The", "the"),
    ],
)
def test_sort_title_drops_a_leading_article(text: str, key: str) -> None:
    assert sort_title(text) == key
