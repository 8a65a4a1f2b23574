from __future__ import annotations

import pytest

from ingest.models import Person
from ingest.nfo import NfoOverrides, parse_nfo

MOVIE = """<?xml version="1.0" encoding="UTF-8" standalone="yes" ?>
<movie>
  <title>The Matrix</title>
  <originaltitle>The Matrix (Original)</originaltitle>
  <year>1999</year>
  <plot>A hacker learns the truth.</plot>
  <outline>Short.</outline>
  <mpaa>Rated R</mpaa>
  <ratings>
    <rating name="tmdb" max="10"><value>8.1</value></rating>
    <rating name="imdb" max="10" default="true"><value>8.7</value></rating>
  </ratings>
  <genre>Action</genre>
  <genre>Science Fiction / Action</genre>
  <director>Lana Wachowski</director>
  <director>Lilly Wachowski</director>
  <credits>Lana Wachowski</credits>
  <actor><name>Keanu Reeves</name><role>Neo</role><order>0</order></actor>
  <actor><name>Carrie-Anne Moss</name><role>Trinity</role></actor>
  <actor><role>Nameless</role></actor>
</movie>
"""


def test_movie() -> None:
    nfo = parse_nfo(MOVIE.encode())
    assert nfo == NfoOverrides(
        root="movie",
        title="The Matrix",
        original_title="The Matrix (Original)",
        year=1999,
        overview="A hacker learns the truth.",
        official_rating="R",
        community_rating=8.7,
        genres=("Action", "Science Fiction"),
        people=(
            Person("Keanu Reeves", "actor", "Neo"),
            Person("Carrie-Anne Moss", "actor", "Trinity"),
            Person("Lana Wachowski", "director"),
            Person("Lilly Wachowski", "director"),
            Person("Lana Wachowski", "writer"),
        ),
    )


def test_tvshow() -> None:
    nfo = parse_nfo(
        "<tvshow><title>Breaking Bad</title><premiered>2008-01-20</premiered>"
        "<rating>9.5</rating><outline>Chemistry.</outline><genre>Drama</genre></tvshow>"
    )
    assert nfo is not None
    assert (nfo.root, nfo.title, nfo.year, nfo.community_rating, nfo.overview, nfo.genres) == (
        "tvshow",
        "Breaking Bad",
        2008,
        9.5,
        "Chemistry.",
        ("Drama",),
    )


def test_episodedetails() -> None:
    nfo = parse_nfo(
        b"\xef\xbb\xbf<episodedetails><title>Pilot</title><showtitle>Breaking Bad</showtitle>"
        b"<season>1</season><episode>1</episode><aired>2008-01-20</aired>"
        b"<ratings><rating name='x' max='5'><value>4</value></rating></ratings>"
        b"</episodedetails>"
    )
    assert nfo is not None
    assert (nfo.root, nfo.title, nfo.show_title, nfo.season, nfo.episode, nfo.year) == (
        "episodedetails",
        "Pilot",
        "Breaking Bad",
        1,
        1,
        2008,
    )
    assert nfo.community_rating == 8.0  # 4 of 5 on a 10 scale


def test_xml_followed_by_a_scraper_url() -> None:
    nfo = parse_nfo("<movie><title>Heat</title></movie>\nhttps://www.themoviedb.org/movie/949\n")
    assert nfo is not None and nfo.title == "Heat"


def test_latin1_and_blank_fields() -> None:
    nfo = parse_nfo(
        "<movie><title>Amélie</title><year> </year><rating>n/a</rating></movie>".encode("latin-1")
    )
    assert nfo == NfoOverrides(root="movie", title="Amélie")


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"https://www.imdb.com/title/tt0133093/",
        b"<movie><title>Broken</title>",
        b"<movie><title>Broken</movie>",
        b"<html><body>not kodi</body></html>",
        b"\x00\xff\xfe garbage",
        # Entity expansion ("billion laughs") is refused by defusedxml.
        b'<?xml version="1.0"?><!DOCTYPE movie [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><movie><title>&b;</title></movie>',
        # External entities are refused too.
        b'<?xml version="1.0"?><!DOCTYPE movie [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<movie><title>&x;</title></movie>",
    ],
)
def test_not_kodi_xml_gives_none(content: bytes) -> None:
    assert parse_nfo(content) is None
