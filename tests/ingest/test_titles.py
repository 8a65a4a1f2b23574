from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.models import ItemType, LibraryKind, Person, ProbeResult, StreamInfo, Titles
from ingest.nfo import parse_nfo
from ingest.probe import classify, probe_media
from ingest.titles import parse_titles
from tests.fixtures.media import PHOTO_TAKEN_AT, MediaFiles

VIDEO = ProbeResult(
    container="matroska,webm",
    duration_us=1_000_000,
    bit_rate=None,
    streams=(StreamInfo(0, "video", "h264"), StreamInfo(1, "audio", "aac")),
)
AUDIO = ProbeResult(
    container="flac",
    duration_us=1_000_000,
    bit_rate=None,
    streams=(StreamInfo(0, "audio", "flac"),),
)
PHOTO = ProbeResult(
    container="jpeg",
    duration_us=None,
    bit_rate=None,
    streams=(StreamInfo(0, "video", "mjpeg", width=10, height=10),),
)

MOVIES, SHOWS, MIXED = LibraryKind.MOVIES, LibraryKind.SHOWS, LibraryKind.MIXED
MOVIE, EPISODE, VID = ItemType.MOVIE, ItemType.EPISODE, ItemType.VIDEO


def fields(titles: Titles, *names: str) -> dict[str, Any]:
    return {name: getattr(titles, name) for name in names}


@pytest.mark.parametrize(
    ("key", "title", "year"),
    [
        ("The Matrix (1999)/The Matrix (1999).mkv", "The Matrix", 1999),
        ("Amélie (2001)/Amelie.2001.1080p.BluRay.x264-GRP.mkv", "Amélie", 2001),
        ("Heat.1995.REMASTERED.1080p.BluRay.x265-RARBG.mp4", "Heat", 1995),
        (
            "2001 A Space Odyssey (1968)/2001 A Space Odyssey (1968).mkv",
            "2001 A Space Odyssey",
            1968,
        ),
        ("Some Home Movie.mp4", "Some Home Movie", None),
    ],
)
def test_movie_libraries(key: str, title: str, year: int | None) -> None:
    titles = parse_titles_for(key, MOVIES)
    assert fields(titles, "type", "title", "year") == {"type": MOVIE, "title": title, "year": year}


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "Breaking Bad/Season 01/Breaking Bad - S01E02 - Cat's in the Bag.mkv",
            ("Breaking Bad", 1, 2, None, "Cat's in the Bag"),
        ),
        ("Show/Season 1/Show - S01E01E02.mkv", ("Show", 1, 1, 2, "Episodes 1-2")),
        ("Show/Season 1/Show - S01E03-E05 - Triple.mkv", ("Show", 1, 3, 5, "Triple")),
        (
            "Frieren/[SubsPlease] Frieren - 03 (1080p) [ABCD1234].mkv",
            ("Frieren", 1, 3, None, "Episode 3"),
        ),
        ("Show Name/Season 02/S02E05.mkv", ("Show Name", 2, 5, None, "Episode 5")),
        ("Show/Season 1/Show - 1x03 - Title.mkv", ("Show", 1, 3, None, "Title")),
        # The show folder names the series; a season folder gives the season a name lacks.
        (
            "The Office (US) (2005)/Season 2/The.Office.US.S02E03.720p.mkv",
            ("The Office (US)", 2, 3, None, "Episode 3"),
        ),
        (
            "Anime Show/Season 3/[Group] Anime Show - 07 [1080p].mkv",
            ("Anime Show", 3, 7, None, "Episode 7"),
        ),
        ("Show/Specials/Show - S00E01 - Making Of.mkv", ("Show", 0, 1, None, "Making Of")),
        ("Loose Show S04E09.mkv", ("Loose Show", 4, 9, None, "Episode 9")),
        (
            "The.Office.US/The.Office.US.S02E03.720p.WEB-DL.DD5.1.H.264-NTb.mkv",
            ("The Office US", 2, 3, None, "Episode 3"),
        ),
    ],
)
def test_show_libraries(key: str, expected: tuple[str, int, int, int | None, str]) -> None:
    titles = parse_titles_for(key, SHOWS)
    assert titles.type is EPISODE
    assert (
        titles.series_title,
        titles.season_number,
        titles.episode_number,
        titles.episode_number_end,
        titles.title,
    ) == expected


def test_show_library_file_without_an_episode_number_is_a_video() -> None:
    titles = parse_titles_for("Show/Specials/Behind the scenes.mkv", SHOWS)
    assert fields(titles, "type", "title") == {"type": VID, "title": "Behind the scenes"}


@pytest.mark.parametrize(
    ("key", "type_", "title"),
    [
        ("Breaking Bad S01E02.mkv", EPISODE, "Episode 2"),
        ("Inception (2010).mkv", MOVIE, "Inception"),
        ("birthday party.mp4", VID, "birthday party"),
        ("Home Videos/2019/birthday party.mp4", VID, "birthday party"),
    ],
)
def test_mixed_libraries(key: str, type_: ItemType, title: str) -> None:
    titles = parse_titles_for(key, MIXED)
    assert (titles.type, titles.title) == (type_, title)


def test_container_tags_fill_gaps_but_do_not_rename_movies() -> None:
    tagged = ProbeResult(
        container=VIDEO.container,
        duration_us=VIDEO.duration_us,
        bit_rate=None,
        streams=VIDEO.streams,
        tags={
            "title": "Real Name",
            "date": "2015-03-01",
            "genre": "Drama; Crime",
            "comment": "Nice.",
        },
    )
    movie = parse_titles("Film.mkv", MOVIES, tagged, None)
    assert fields(movie, "title", "year", "genres", "overview") == {
        "title": "Film",
        "year": 2015,
        "genres": ("Drama", "Crime"),
        "overview": "Nice.",
    }
    home = parse_titles("clip0001.mp4", MIXED, tagged, None)
    assert (home.type, home.title) == (VID, "Real Name")
    unnamed = parse_titles("Show/Season 1/Show - S01E04.mkv", SHOWS, tagged, None)
    assert (unnamed.title, unnamed.episode_number) == ("Real Name", 4)
    named = parse_titles("Show/Season 1/Show - S01E04 - Named.mkv", SHOWS, tagged, None)
    assert named.title == "Named"


@pytest.mark.parametrize("attr", ["m4a", "mp3", "flac"])
def test_music_from_tags(media_files: MediaFiles, attr: str) -> None:
    path = getattr(media_files, attr)
    probe = probe_media(path, name=path.name, role=classify(path.name), size=path.stat().st_size)
    titles = parse_titles(f"Other Artist/Other Album/{path.name}", LibraryKind.MUSIC, probe, None)
    assert fields(
        titles,
        "type",
        "title",
        "artist",
        "album",
        "album_artist",
        "track_number",
        "disc_number",
        "year",
        "genres",
    ) == {
        "type": ItemType.TRACK,
        "title": "Tone A",
        "artist": "Demo Artist",
        "album": "Demo Album",
        "album_artist": "Demo Artist",
        "track_number": 3,
        "disc_number": 1,
        "year": 2024,
        "genres": ("Electronic",),
    }


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (
            "Daft Punk/Discovery/03 - Digital Love.flac",
            {
                "title": "Digital Love",
                "artist": "Daft Punk",
                "album": "Discovery",
                "track_number": 3,
            },
        ),
        (
            "Artist/Album/1-07. Song.mp3",
            {"title": "Song", "artist": "Artist", "album": "Album", "track_number": 7},
        ),
        (
            "loose song.mp3",
            {"title": "loose song", "artist": None, "album": None, "track_number": None},
        ),
    ],
)
def test_music_falls_back_to_folders(key: str, expected: dict[str, Any]) -> None:
    titles = parse_titles(key, LibraryKind.MUSIC, AUDIO, None)
    assert titles.type is ItemType.TRACK
    assert fields(titles, *expected) == expected


def test_audio_in_a_mixed_library_is_a_track() -> None:
    titles = parse_titles("Podcasts/Episode.m4a", MIXED, AUDIO, None)
    assert titles.type is ItemType.TRACK


def test_photos(media_files: MediaFiles) -> None:
    path = media_files.photo
    probe = probe_media(path, name=path.name, role=classify(path.name), size=path.stat().st_size)
    titles = parse_titles("2024/Holiday/photo.jpg", LibraryKind.PHOTOS, probe, None)
    assert fields(titles, "type", "title", "taken_at", "year") == {
        "type": ItemType.PHOTO,
        "title": "photo",
        "taken_at": PHOTO_TAKEN_AT.replace(tzinfo=UTC),  # no EXIF offset: read as UTC
        "year": 2024,
    }
    assert titles.extra == {
        "camera": "Canon EOS R5",
        "make": "Canon",
        "model": "Canon EOS R5",
        "orientation": "6",
    }
    bare = parse_titles("scan 01.png", LibraryKind.PHOTOS, PHOTO, None)
    assert (bare.type, bare.title, bare.taken_at, bare.extra) == (
        ItemType.PHOTO,
        "scan 01",
        None,
        {},
    )


def test_nfo_wins_over_everything() -> None:
    nfo = parse_nfo(
        "<movie><title>The Real Title</title><year>1987</year><plot>Plot.</plot>"
        "<mpaa>PG</mpaa><rating>7.25</rating><genre>Comedy</genre>"
        "<actor><name>Someone</name><role>Lead</role></actor></movie>"
    )
    tagged = ProbeResult(
        container="mp4",
        duration_us=1,
        bit_rate=None,
        streams=VIDEO.streams,
        tags={"title": "Tag Title", "date": "2001", "genre": "Drama"},
    )
    titles = parse_titles("Wrong Name (2020)/Wrong Name (2020).mp4", MOVIES, tagged, nfo)
    assert fields(
        titles,
        "type",
        "title",
        "year",
        "overview",
        "official_rating",
        "community_rating",
        "genres",
        "people",
    ) == {
        "type": MOVIE,
        "title": "The Real Title",
        "year": 1987,
        "overview": "Plot.",
        "official_rating": "PG",
        "community_rating": 7.25,
        "genres": ("Comedy",),
        "people": (Person("Someone", "actor", "Lead"),),
    }
    # A movie .nfo beside a home video in a mixed library makes it a movie.
    assert parse_titles("clip.mp4", MIXED, VIDEO, nfo).type is MOVIE


def test_episode_and_show_nfo() -> None:
    episode = parse_nfo(
        "<episodedetails><title>Pilot</title><season>2</season><episode>7</episode></episodedetails>"
    )
    titles = parse_titles("Show/whatever.mkv", SHOWS, VIDEO, episode)
    assert fields(titles, "type", "title", "season_number", "episode_number") == {
        "type": EPISODE,
        "title": "Pilot",
        "season_number": 2,
        "episode_number": 7,
    }
    show = parse_nfo("<tvshow><title>Proper Show Name</title><plot>Series plot.</plot></tvshow>")
    titles = parse_titles("show/Season 1/show - S01E01 - One.mkv", SHOWS, VIDEO, show)
    assert (titles.series_title, titles.title, titles.overview) == ("Proper Show Name", "One", None)


@pytest.mark.parametrize(
    "key",
    [
        '🎬 Ünïcödé "quoted" #1 50%.mkv',
        "line\nbreak/and\ttab.mkv",
        "it's a 'quote' & <tag>.mp4",
        "%20%2F%00.mkv",
        "#.mkv",
        ".mkv",
        "....mkv",
        "Show/Season 1/ - S01E01.mkv",
        "a" * 300 + ".mkv",
        "日本語のタイトル (2010)/日本語のタイトル (2010).mkv",
    ],
)
@pytest.mark.parametrize("kind", [MOVIES, SHOWS, MIXED, LibraryKind.MUSIC, LibraryKind.PHOTOS])
def test_odd_names_never_crash_or_come_out_empty(key: str, kind: LibraryKind) -> None:
    titles = parse_titles(key, kind, VIDEO, None)
    assert titles.title.strip()
    assert "\n" not in titles.title


def test_music_titles_never_empty() -> None:
    assert parse_titles("Artist/Album/01 - .mp3", LibraryKind.MUSIC, AUDIO, None).title.strip()
    assert parse_titles("Artist/Album/01.mp3", LibraryKind.MUSIC, AUDIO, None).title == "01"


def test_photo_with_a_broken_exif_date() -> None:
    probe = ProbeResult(
        container="jpeg",
        duration_us=None,
        bit_rate=None,
        streams=PHOTO.streams,
        exif={"taken_at": "0000-00-00T00:00:00"},
    )
    titles = parse_titles("x.jpg", LibraryKind.PHOTOS, probe, None)
    assert titles.taken_at is None and titles.title == "x"
    assert isinstance(PHOTO_TAKEN_AT, datetime)


def parse_titles_for(key: str, kind: LibraryKind) -> Titles:
    return parse_titles(key, kind, VIDEO, None)


# --- the fast path for conventional names agrees with guessit -------------------------------

CONVENTIONAL = [
    ("Heat (1995)", "movie"),
    ("The Lord of the Rings - The Fellowship of the Ring (2001)", "movie"),
    ("Amélie (2001)", "movie"),
    ("Mr & Mrs Smith (2005)", "movie"),
    ("2001 A Space Odyssey (1968)", "movie"),
    ("Colour Bars (2021)", None),
    ("The Office - S02E03 - The Dundies", "episode"),
    ("Breaking Bad - S01E01", "episode"),
    ("Doctor Who - S10E11E12 - World Enough and Time", "episode"),
    ("Pattern Show - S01E02 - Second", None),
]


@pytest.mark.parametrize(("stem", "hint"), CONVENTIONAL)
def test_conventional_names_parse_like_guessit(stem: str, hint: str | None) -> None:
    from guessit import guessit

    from ingest.titles import conventional

    fast = conventional(stem, hint)
    assert fast is not None
    slow = dict(guessit(stem + ".mkv", {"type": hint} if hint else {}))
    if "alternative_title" in slow:  # joined back by the guessit path (_movie_title)
        slow["title"] = f"{slow['title']} - {slow['alternative_title']}"
    for key in ("title", "year", "season", "episode", "episode_title", "type"):
        assert fast.get(key) == slow.get(key), (key, fast, slow)


@pytest.mark.parametrize(
    "stem",
    [
        "The.Matrix.1999.1080p.BluRay.x264-GROUP",
        "Heat.(1995)",
        "[Group] Show - 03 [1080p]",
        "Some Film",
        "Heat (1995) [1080p]",
        "Show.S01E02.720p",
        "Show - S01E03E02",
        "Film_Name (2003)",
    ],
)
def test_unconventional_names_are_left_to_guessit(stem: str) -> None:
    from ingest.titles import conventional

    assert conventional(stem, None) is None
