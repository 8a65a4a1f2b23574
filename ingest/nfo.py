"""Kodi-style ``.nfo`` sidecars: metadata a user wrote next to a file, overriding what we guess.

The XML comes from users' folders, so it is parsed with ``defusedxml`` (no entity expansion, no
external references). A broken or unexpected file never raises: it yields None, and the scan
goes on with guessed titles. Pure: no I/O, the caller reads the bytes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ingest.models import Person

_ROOTS = ("movie", "tvshow", "episodedetails", "musicvideo")
_YEAR = re.compile(r"(\d{4})")
# Kodi lets a file hold XML followed by a scraper URL: keep only the XML document.
_ROOT_END = re.compile(r"</(movie|tvshow|episodedetails|musicvideo)\s*>", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class NfoOverrides:
    """Fields a .nfo sets; None (or empty) means "not given, keep what was guessed"."""

    root: str  # movie, tvshow, episodedetails, musicvideo
    title: str | None = None
    original_title: str | None = None
    year: int | None = None
    overview: str | None = None
    official_rating: str | None = None
    community_rating: float | None = None
    genres: tuple[str, ...] = ()
    people: tuple[Person, ...] = ()
    season: int | None = None
    episode: int | None = None
    show_title: str | None = None


def parse_nfo(data: bytes | str) -> NfoOverrides | None:
    """Parse a .nfo file's content; None when it is not Kodi XML (a bare URL, broken XML)."""
    text = _decode(data) if isinstance(data, bytes) else data
    start = text.find("<")
    if start < 0:
        return None
    text = text[start:]
    end = _ROOT_END.search(text)
    if end is not None:
        text = text[: end.end()]
    try:
        root = SafeET.fromstring(text)
    except (ParseError, DefusedXmlException, ValueError):
        return None
    tag = root.tag.lower() if isinstance(root.tag, str) else ""
    if tag not in _ROOTS:
        return None
    year = _int(_text(root, "year"))
    if year is None:
        year = _year(_text(root, "premiered")) or _year(_text(root, "aired"))
    return NfoOverrides(
        root=tag,
        title=_text(root, "title"),
        original_title=_text(root, "originaltitle"),
        year=year,
        overview=_text(root, "plot") or _text(root, "outline"),
        official_rating=_rating_label(_text(root, "mpaa")),
        community_rating=_community_rating(root),
        genres=_genres(root),
        people=_people(root),
        season=_int(_text(root, "season")),
        episode=_int(_text(root, "episode")),
        show_title=_text(root, "showtitle"),
    )


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _text(node: Element, tag: str) -> str | None:
    child = node.find(tag)
    if child is None or child.text is None:
        return None
    value = child.text.strip()
    return value or None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _year(value: str | None) -> int | None:
    match = _YEAR.match(value or "")
    return int(match.group(1)) if match else None


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value.replace(",", "."))
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _rating_label(value: str | None) -> str | None:
    # Kodi scrapers write "Rated PG-13"; the rating is the label after it.
    if value is None:
        return None
    label = value.removeprefix("Rated ").strip()
    return label or None


def _community_rating(root: Element) -> float | None:
    """The default entry of ``<ratings>`` (Kodi 17+), else the first, else ``<rating>``; 0-10."""
    entries = root.findall("ratings/rating")
    chosen = next((e for e in entries if e.get("default") == "true"), None)
    chosen = chosen if chosen is not None else (entries[0] if entries else None)
    if chosen is not None:
        value = _float(_text(chosen, "value"))
        scale = _float(chosen.get("max")) or 10.0
        if value is not None:
            return round(value * 10.0 / scale, 2)
    return _float(_text(root, "rating"))


def _genres(root: Element) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for node in root.findall("genre"):
        for part in (node.text or "").split("/"):
            if part.strip():
                seen.setdefault(part.strip(), None)
    return tuple(seen)


def _people(root: Element) -> tuple[Person, ...]:
    people: list[Person] = []
    for actor in root.findall("actor"):
        name = _text(actor, "name")
        if name:
            people.append(Person(name=name, role="actor", character=_text(actor, "role")))
    for tag, role in (("director", "director"), ("credits", "writer"), ("writer", "writer")):
        for node in root.findall(tag):
            name = (node.text or "").strip()
            if name and Person(name=name, role=role) not in people:
                people.append(Person(name=name, role=role))
    return tuple(people)
