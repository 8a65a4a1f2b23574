"""What a file is called: titles from its path (guessit), its tags, its EXIF and its .nfo.

``parse_titles`` is pure and thread-safe: the scanner calls it from worker threads right after
probing. Precedence, lowest first: the file stem, the name (guessit or folder layout), container
tags, then a .nfo file, which always wins. A title is never empty.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

import structlog
from guessit import guessit

from ingest.models import FileRole, ItemType, LibraryKind, ProbeResult, Titles
from ingest.nfo import NfoOverrides
from ingest.probe import classify

log = structlog.get_logger(__name__)

# Properties we never use: excluding them skips their patterns inside guessit (~30% faster).
# Properties that delimit titles (screen size, source, codecs, release group) stay enabled,
# or they would leak into episode titles.
_EXCLUDES = [
    "country",
    "language",
    "subtitle_language",
    "streaming_service",
    "website",
    "bonus",
    "bonus_title",
    "film",
    "film_title",
    "cd",
    "cd_count",
    "uuid",
    "size",
    "bit_rate",
    "mimetype",
    "crc32",
    "week",
    "proper_count",
]
_MOVIE_OPTIONS: dict[str, Any] = {"type": "movie", "excludes": _EXCLUDES}
_EPISODE_OPTIONS: dict[str, Any] = {"type": "episode", "excludes": _EXCLUDES}
_ANY_OPTIONS: dict[str, Any] = {"excludes": _EXCLUDES}

_SEASON_DIR = re.compile(
    r"^(?:(?:season|series|staffel|saison|temporada)[\s._-]*(\d{1,4})|s(\d{1,4})|specials)$",
    re.IGNORECASE,
)
_FOLDER_YEAR = re.compile(r"^(.*?)[\s._]*[(\[]((?:18|19|20|21)\d{2})[)\]]$")
_BRACKETS = re.compile(r"\[[^\]]*\]")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_YEAR = re.compile(r"(\d{4})")
_LEADING_NUMBER = re.compile(r"^(?:(\d{1,2})[-.])?(\d{1,3})\s*(?:[-.)_]\s*|\s+)(.+)$")


def parse_titles(
    key: str, kind: LibraryKind, probe: ProbeResult, nfo: NfoOverrides | None
) -> Titles:
    """Titles for the file at ``key`` (its path relative to the library root)."""
    path = PurePosixPath(_CONTROL.sub(" ", key))
    stem = path.stem.strip() or path.name.strip() or "Untitled"
    role = classify(key)
    has_audio = any(s.kind == "audio" for s in probe.streams)
    if role is FileRole.PHOTO or probe.exif:
        titles = _photo(stem, probe)
    elif role is FileRole.AUDIO or (probe.video is None and has_audio):
        titles = _track(path, stem, probe.tags)
    else:
        titles = _with_tags(_video(path, stem, kind), probe.tags)
    if nfo is not None:
        titles = _with_nfo(titles, nfo)
    if not titles.title.strip():
        titles = _replace(titles, title=stem)
    return titles


# --- video ----------------------------------------------------------------------------------


def _video(path: PurePosixPath, stem: str, kind: LibraryKind) -> tuple[Titles, bool]:
    """The titles a video's name gives, and whether the name held a real (episode) title."""
    if kind is LibraryKind.MOVIES:
        guess = _guess(path, 2, _MOVIE_OPTIONS)
        title = _movie_title(guess)
        return Titles(type=ItemType.MOVIE, title=title or stem, year=_year(guess.get("year"))), True
    if kind is LibraryKind.SHOWS:
        # Only the file name goes through guessit (each folder level costs ~1 ms); the show and
        # season folders are read here, the way Jellyfin and Plex expect them to be laid out.
        guess = _guess(path, 1, _EPISODE_OPTIONS)
        folders = list(path.parts[:-1])
        folder_season: int | None = None
        if folders and (match := _SEASON_DIR.match(folders[-1])):
            folder_season = int(match.group(1) or match.group(2) or 0)
            folders.pop()
        if folders:
            series, year = _folder_title(folders[-1])
            guess = {**guess, "title": series, "year": guess.get("year") or year}
        if folder_season is not None and not isinstance(guess.get("season"), int):
            guess["season"] = folder_season
        episode = _episode(guess)
        if episode is not None:
            return episode
        return Titles(type=ItemType.VIDEO, title=stem), False
    if kind is LibraryKind.MIXED:
        # A bare year or number folder ("Home Videos/2019/") is not a film's year.
        parent = path.parts[-2] if len(path.parts) > 1 else ""
        guess = _guess(path, 1 if parent.isdigit() else 2, _ANY_OPTIONS)
        episode = _episode(guess) if guess.get("type") == "episode" else None
        if episode is not None:
            return episode
        title, year = _movie_title(guess), _year(guess.get("year"))
        # Without a year a name like "birthday party" is a home video, not a film.
        if guess.get("type") == "movie" and title and year:
            return Titles(type=ItemType.MOVIE, title=title, year=year), True
    return Titles(type=ItemType.VIDEO, title=stem), False


def _movie_title(guess: dict[str, Any]) -> str | None:
    """guessit splits "Alien - Resurrection" into a title and an alternative title; a film is
    called by both, or every film of a series would share one name."""
    title = _str(guess.get("title"))
    alternative = guess.get("alternative_title")
    if isinstance(alternative, list):
        alternative = " - ".join(str(a) for a in alternative)
    if title and isinstance(alternative, str) and alternative.strip():
        return f"{title} - {alternative.strip()}"
    return title


def _folder_title(name: str) -> tuple[str | None, int | None]:
    """A show folder's name as a title: "The Office (US) (2005)" -> ("The Office (US)", 2005)."""
    text = _BRACKETS.sub(" ", name).strip()
    year = None
    if match := _FOLDER_YEAR.match(text):
        text, year = match.group(1), int(match.group(2))
    if " " not in text:
        text = re.sub(r"[._]+", " ", text)
    text = " ".join(text.split())
    return (text or None), year


# Names that follow the naming conventions of Jellyfin, Plex, Radarr and Sonarr
# ("Heat (1995).mkv", "The Office - S02E03 - The Dundies.mkv") are read with a regex, the way
# Jellyfin's own parser does; guessit (~3 ms a name) is kept for everything else (scene names,
# release tags, anime numbering), where its heuristics earn their cost.
_CONVENTIONAL_MOVIE = re.compile(r"^(?P<title>[^\[\]{}()._]+?) \((?P<year>(?:18|19|20|21)\d{2})\)$")
_CONVENTIONAL_EPISODE = re.compile(
    r"^(?P<series>[^\[\]{}._]+?) - [Ss](?P<season>\d{1,3})[Ee](?P<first>\d{1,4})"
    r"(?:-?[Ee](?P<last>\d{1,4}))?(?: - (?P<title>[^\[\]{}]+))?$"
)


def conventional(stem: str, kind: str | None) -> dict[str, Any] | None:
    """guessit's answer for a conventionally named file stem, or None when the name is not
    conventional. ``kind`` is guessit's type hint: "movie", "episode" or None for either."""
    if kind in (None, "movie") and (movie := _CONVENTIONAL_MOVIE.match(stem)):
        title = movie.group("title").strip()
        if title and not title[0].isspace():
            return {"title": title, "year": int(movie.group("year")), "type": "movie"}
    if kind in (None, "episode") and (episode := _CONVENTIONAL_EPISODE.match(stem)):
        first = int(episode.group("first"))
        last = int(episode.group("last") or first)
        if last < first:
            return None
        guess: dict[str, Any] = {
            "title": episode.group("series").strip(),
            "season": int(episode.group("season")),
            "episode": first if last == first else list(range(first, last + 1)),
            "type": "episode",
        }
        if episode.group("title") and episode.group("title").strip():
            guess["episode_title"] = episode.group("title").strip()
        return guess
    return None


def _guess(path: PurePosixPath, depth: int, options: dict[str, Any]) -> dict[str, Any]:
    fast = conventional(PurePosixPath(path.name).stem.strip(), options.get("type"))
    if fast is not None:
        return fast
    # The file name and its nearest folders carry the title; the rest of the path only costs
    # guessit time (and library folder names like "Movies" confuse it).
    name = "/".join(path.parts[-depth:])
    try:
        return dict(guessit(name, dict(options)))
    except Exception as exc:  # guessit is a heuristic: a bad guess must not fail a scan
        log.warning("guessit_failed", name=name, error=repr(exc))
        return {}


def _episode(guess: dict[str, Any]) -> tuple[Titles, bool] | None:
    number = guess.get("episode")
    numbers = [n for n in (number if isinstance(number, list) else [number]) if isinstance(n, int)]
    if not numbers:
        return None
    season = guess.get("season")
    if isinstance(season, list):
        season = season[0] if season else None
    first, last = min(numbers), max(numbers)
    name = _str(guess.get("episode_title"))
    # Like Jellyfin and Plex: an episode without a name is called by its number.
    placeholder = f"Episode {first}" if last == first else f"Episodes {first}-{last}"
    titles = Titles(
        type=ItemType.EPISODE,
        title=name or placeholder,
        series_title=_str(guess.get("title")),
        year=_year(guess.get("year")),
        season_number=season if isinstance(season, int) else 1,
        episode_number=first,
        episode_number_end=last if last != first else None,
    )
    return titles, name is not None


def _with_tags(named: tuple[Titles, bool], tags: dict[str, str]) -> Titles:
    """Container tags fill gaps a name left; they never replace what the name said."""
    titles, has_name = named
    changes: dict[str, Any] = {}
    tag_title = (tags.get("title") or "").strip()
    # Movies keep their name: a tagged title is often a release name. An episode without a
    # title in its name, or a plain video, takes the tagged one.
    if tag_title and titles.type is not ItemType.MOVIE and not has_name:
        changes["title"] = tag_title
    if titles.year is None:
        changes["year"] = _year(tags.get("date") or tags.get("year"))
    if not titles.genres and tags.get("genre"):
        changes["genres"] = _split_genres(tags["genre"])
    if titles.overview is None:
        overview = (tags.get("comment") or tags.get("description") or "").strip()
        changes["overview"] = overview or None
    return _replace(titles, **changes) if changes else titles


# --- music ----------------------------------------------------------------------------------


def _track(path: PurePosixPath, stem: str, tags: dict[str, str]) -> Titles:
    """Tags first; without them the Artist/Album/NN - Title.ext folder layout."""
    match = _LEADING_NUMBER.match(stem)
    name_disc = int(match.group(1)) if match and match.group(1) else None
    name_track = int(match.group(2)) if match else None
    name_title = match.group(3).strip() if match else stem
    folders = path.parts[:-1]
    folder_album = folders[-1] if len(folders) >= 1 else None
    folder_artist = folders[-2] if len(folders) >= 2 else None
    artist = _tag(tags, "artist") or folder_artist
    album_artist = _tag(tags, "album_artist", "albumartist", "album artist") or artist
    return Titles(
        type=ItemType.TRACK,
        title=_tag(tags, "title") or name_title or stem,
        artist=artist,
        album=_tag(tags, "album") or folder_album,
        album_artist=album_artist,
        track_number=_position(_tag(tags, "track", "tracknumber")) or name_track,
        disc_number=_position(_tag(tags, "disc", "discnumber")) or name_disc,
        year=_year(_tag(tags, "date", "year", "originaldate")),
        genres=_split_genres(_tag(tags, "genre") or ""),
    )


def _position(value: str | None) -> int | None:
    """ "3/10" -> 3; "03" -> 3; junk -> None."""
    if not value:
        return None
    head = value.split("/", 1)[0].strip()
    return int(head) if head.isdigit() and int(head) > 0 else None


def _tag(tags: dict[str, str], *names: str) -> str | None:
    for name in names:
        value = tags.get(name)
        if value and value.strip():
            return value.strip()
    return None


def _split_genres(value: str) -> tuple[str, ...]:
    parts = (p.strip() for p in re.split(r"[;/]", value))
    return tuple(dict.fromkeys(p for p in parts if p))


# --- photos ---------------------------------------------------------------------------------


def _photo(stem: str, probe: ProbeResult) -> Titles:
    exif = probe.exif
    taken_at: datetime | None = None
    if exif.get("taken_at"):
        try:
            taken_at = datetime.fromisoformat(exif["taken_at"])
            if taken_at.tzinfo is None:
                # Without OffsetTimeOriginal EXIF is wall-clock time in an unknown zone; keeping
                # the reading as UTC shows the time the camera showed.
                taken_at = taken_at.replace(tzinfo=UTC)
        except ValueError:
            taken_at = None
    extra: dict[str, str] = {}
    make, model = exif.get("make", ""), exif.get("model", "")
    if make or model:
        # Models often repeat the brand ("NIKON Z 6" by "NIKON CORPORATION").
        brand = make.split(" ")[0] if make else ""
        camera = model if brand and model.lower().startswith(brand.lower()) else f"{make} {model}"
        extra["camera"] = camera.strip()
    for key in ("make", "model", "orientation"):
        if exif.get(key):
            extra[key] = exif[key]
    return Titles(
        type=ItemType.PHOTO,
        title=stem,
        taken_at=taken_at,
        year=taken_at.year if taken_at else None,
        extra=extra,
    )


# --- .nfo -----------------------------------------------------------------------------------


def _with_nfo(titles: Titles, nfo: NfoOverrides) -> Titles:
    if nfo.root == "tvshow":
        # A show's .nfo names the series; its plot and cast belong to the series record.
        return _replace(titles, series_title=nfo.title) if nfo.title else titles
    changes: dict[str, Any] = {}
    if nfo.root == "movie" and titles.type is ItemType.VIDEO:
        changes["type"] = ItemType.MOVIE
    if nfo.root == "episodedetails" and nfo.episode is not None:
        changes["type"] = ItemType.EPISODE
        changes["season_number"] = nfo.season if nfo.season is not None else 1
    fields = {
        "title": nfo.title,
        "original_title": nfo.original_title,
        "year": nfo.year,
        "overview": nfo.overview,
        "official_rating": nfo.official_rating,
        "community_rating": nfo.community_rating,
        "season_number": nfo.season,
        "episode_number": nfo.episode,
        "series_title": nfo.show_title,
    }
    changes.update({k: v for k, v in fields.items() if v is not None})
    if nfo.genres:
        changes["genres"] = nfo.genres
    if nfo.people:
        changes["people"] = nfo.people
    return _replace(titles, **changes)


# --- helpers --------------------------------------------------------------------------------


def _replace(titles: Titles, **changes: Any) -> Titles:
    # dataclasses.replace would share the ``extra`` dict; copy it so results stay independent.
    values = {f: getattr(titles, f) for f in titles.__dataclass_fields__}
    values.update(changes)
    values["extra"] = dict(values["extra"])
    return Titles(**values)


def _str(value: object) -> str | None:
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _year(value: object) -> int | None:
    if isinstance(value, int) and 1800 <= value <= 2200:
        return value
    if isinstance(value, str):
        match = _YEAR.match(value.strip())
        if match and 1800 <= int(match.group(1)) <= 2200:
            return int(match.group(1))
    return None
