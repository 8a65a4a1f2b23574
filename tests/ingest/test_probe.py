from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO, cast

import pytest

from ingest import demo
from ingest.errors import EmptyFile, NoPlayableStream, NotMedia, ProbeError, Truncated, Unreadable
from ingest.models import FileRole, ProbeResult
from ingest.probe import classify, content_hash, probe_media
from tests.fixtures.media import (
    AUDIO_TAGS,
    CLIP_FPS,
    CLIP_KEYFRAME_SECONDS,
    CLIP_SECONDS,
    LARGE_SECONDS,
    MediaFiles,
)


class CountingReader(io.RawIOBase):
    """A seekable file object that counts reads, like an S3 object doing ranged GETs."""

    def __init__(self, path: Path, *, fail_after: int | None = None) -> None:
        self._file = path.open("rb")
        self.reads = 0
        self.bytes_read = 0
        self._fail_after = fail_after

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._fail_after is not None and self.reads >= self._fail_after:
            raise ConnectionResetError(104, "connection reset by peer")
        data = self._file.read(len(buffer))
        buffer[: len(data)] = data
        self.reads += 1
        self.bytes_read += len(data)
        return len(data)

    def close(self) -> None:
        self._file.close()
        super().close()


def as_binary(reader: CountingReader) -> BinaryIO:
    return cast(BinaryIO, reader)


def probe(path: Path) -> ProbeResult:
    return probe_media(path, name=path.name, role=classify(path.name), size=path.stat().st_size)


@pytest.mark.parametrize(
    ("key", "role"),
    [
        ("Movies/Film (2020)/Film (2020).mkv", FileRole.VIDEO),
        ("a/b.MP4", FileRole.VIDEO),
        ("x.m2ts", FileRole.VIDEO),
        ("song.flac", FileRole.AUDIO),
        ("song.OPUS", FileRole.AUDIO),
        ("IMG_0001.HEIC", FileRole.PHOTO),
        ("scan.tiff", FileRole.PHOTO),
        ("Film (2020).en.srt", FileRole.SUBTITLE),
        ("movie.nfo", FileRole.NFO),
        ("notes.txt", FileRole.IGNORED),
        ("no-extension", FileRole.IGNORED),
        ("archive.tar.gz", FileRole.IGNORED),
    ],
)
def test_classify_by_extension(key: str, role: FileRole) -> None:
    assert classify(key) is role


def test_mp4_container_and_streams(media_files: MediaFiles) -> None:
    result = probe(media_files.mp4)
    assert result.container.startswith("mov,mp4")
    assert result.duration_us == CLIP_SECONDS * 1_000_000
    assert result.bit_rate is not None and result.bit_rate > 0
    assert result.tags["title"] == "Clip Title"
    assert all(key == key.lower() for key in result.tags)

    video = result.video
    assert video is not None
    assert (video.codec, video.profile, video.pix_fmt, video.bit_depth) == (
        "h264",
        "High",
        "yuv420p",
        8,
    )
    assert (video.width, video.height) == (320, 240)
    assert video.fps == Fraction(CLIP_FPS)
    assert video.time_base is not None and video.time_base > 0
    assert video.level is not None and video.level > 0
    assert video.is_default and not video.is_attached_pic

    (audio,) = [s for s in result.streams if s.kind == "audio"]
    assert (audio.codec, audio.channels, audio.channel_layout, audio.sample_rate) == (
        "aac",
        2,
        "stereo",
        48000,
    )
    assert audio.language == "eng"
    assert audio.bit_rate is not None


def test_chapters(media_files: MediaFiles) -> None:
    for path in (media_files.mp4, media_files.mkv):
        chapters = probe(path).chapters
        assert [(c.start_us, c.end_us) for c in chapters] == [
            (0, CLIP_SECONDS * 500_000),
            (CLIP_SECONDS * 500_000, CLIP_SECONDS * 1_000_000),
        ]
        assert [c.title for c in chapters] == ["Chapter 1", "Chapter 2"]


@pytest.mark.parametrize("attr", ["mp4", "mkv", "large_mp4", "black_lead_mp4"])
def test_keyframe_index_matches_the_gop(media_files: MediaFiles, attr: str) -> None:
    path: Path = getattr(media_files, attr)
    result = probe(path)
    index = result.keyframes
    assert index is not None
    assert result.keyframe_stream == 0
    seconds = LARGE_SECONDS if attr == "large_mp4" else CLIP_SECONDS
    expected = tuple(int(s / index.time_base) for s in range(0, seconds, 2))
    assert index.pts == expected
    # The stream lasts ``seconds`` from its first keyframe (MP4 exactly; Matroska to the ms).
    assert index.duration == int(seconds / index.time_base)


def test_keyframe_index_from_packets_of_an_unindexed_container(media_files: MediaFiles) -> None:
    index = probe(media_files.ts).keyframes
    assert index is not None
    assert index.time_base == Fraction(1, 90000)
    start = index.pts[0]
    assert start > 0  # MPEG-TS muxers start after a small delay
    assert index.pts == tuple(start + s * 90000 for s in CLIP_KEYFRAME_SECONDS)
    assert abs(index.duration - CLIP_SECONDS * 90000) <= 90000 // CLIP_FPS


def test_subtitle_streams(media_files: MediaFiles) -> None:
    for path, codec in (
        (media_files.mp4_subtitles, "mov_text"),
        (media_files.mkv_subtitles, "subrip"),
    ):
        subtitles = [s for s in probe(path).streams if s.kind == "subtitle"]
        assert [(s.codec, s.language) for s in subtitles] == [(codec, "eng")]


@pytest.mark.parametrize(("attr", "codec"), [("m4a", "aac"), ("mp3", "mp3"), ("flac", "flac")])
def test_audio_with_tags_and_cover(media_files: MediaFiles, attr: str, codec: str) -> None:
    result = probe(getattr(media_files, attr))
    assert result.video is None  # the cover is not a video
    assert result.keyframes is None and result.keyframe_stream is None
    kinds = [(s.kind, s.codec, s.is_attached_pic) for s in result.streams]
    assert (("audio", codec, False)) in kinds
    assert ("video", "mjpeg", True) in kinds
    for key in ("title", "artist", "album", "album_artist", "genre"):
        assert result.tags[key] == AUDIO_TAGS[key]
    assert result.tags["track"] == "3/10"
    assert abs((result.duration_us or 0) - 3_000_000) < 100_000


def test_photo_exif(media_files: MediaFiles) -> None:
    result = probe(media_files.photo)
    assert result.container == "jpeg"
    assert [(s.kind, s.codec, s.width, s.height) for s in result.streams] == [
        ("video", "mjpeg", 640, 480)
    ]
    assert result.exif == {
        "taken_at": "2024-06-01T09:30:15",
        "make": "Canon",
        "model": "Canon EOS R5",
        "orientation": "6",
    }
    assert probe(media_files.photo_plain).exif == {"orientation": "1"}


def test_unicode_name(media_files: MediaFiles) -> None:
    result = probe(media_files.unicode_name)
    assert result.keyframes is not None
    assert result.video is not None


def test_probe_through_a_file_object_reads_little_of_an_mp4(media_files: MediaFiles) -> None:
    path = media_files.large_mp4
    size = path.stat().st_size
    assert size > 2_000_000
    with CountingReader(path) as reader:
        result = probe_media(as_binary(reader), name=path.name, role=FileRole.VIDEO, size=size)
        assert result == probe(path)
        # The header, the sample table and a few packets: a small fraction of the file.
        assert reader.bytes_read < size // 4, (reader.reads, reader.bytes_read, size)
        assert reader.reads < 30


def test_probe_through_a_file_object_matroska(media_files: MediaFiles) -> None:
    path = media_files.mkv
    with CountingReader(path) as reader:
        result = probe_media(
            as_binary(reader), name=path.name, role=FileRole.VIDEO, size=path.stat().st_size
        )
    assert result == probe(path)


@pytest.mark.parametrize(
    ("attr", "error", "status"),
    [
        ("zero", EmptyFile, "empty"),
        ("truncated_mp4", Truncated, "corrupt"),
        ("truncated_mkv", Truncated, "corrupt"),
        ("text_mkv", NotMedia, "not_media"),
        ("text_jpg", NotMedia, "not_media"),
        ("subtitle_only", NoPlayableStream, "unsupported"),
    ],
)
def test_bad_inputs(
    media_files: MediaFiles, attr: str, error: type[ProbeError], status: str
) -> None:
    path: Path = getattr(media_files, attr)
    with pytest.raises(error) as caught:
        probe(path)
    assert caught.value.status == status
    assert path.name in str(caught.value)
    # The same through a file object, as S3 objects arrive.
    with path.open("rb") as handle, pytest.raises(error):
        probe_media(handle, name=path.name, role=classify(path.name), size=path.stat().st_size)


def test_io_errors_are_unreadable(media_files: MediaFiles, tmp_path: Path) -> None:
    missing = tmp_path / "gone.mp4"
    with pytest.raises(Unreadable) as caught:
        probe_media(missing, name="gone.mp4", role=FileRole.VIDEO, size=100)
    assert isinstance(caught.value, OSError)
    path = media_files.large_mp4
    with CountingReader(path, fail_after=1) as reader, pytest.raises(Unreadable):
        probe_media(
            as_binary(reader), name=path.name, role=FileRole.VIDEO, size=path.stat().st_size
        )


def test_content_hash_follows_content_not_names(media_files: MediaFiles, tmp_path: Path) -> None:
    path = media_files.large_mp4
    size = path.stat().st_size
    with path.open("rb") as handle:
        digest = content_hash(handle, size)
    assert len(digest) == 32 and int(digest, 16) >= 0
    moved = tmp_path / "renamed.mp4"
    moved.write_bytes(path.read_bytes())
    with CountingReader(moved) as reader:
        assert content_hash(as_binary(reader), size) == digest
        assert reader.bytes_read <= 2 * 64 * 1024
    changed = bytearray(path.read_bytes())
    changed[-1] ^= 0xFF
    moved.write_bytes(bytes(changed))
    with moved.open("rb") as handle:
        assert content_hash(handle, size) != digest
    small = io.BytesIO(b"tiny")
    assert content_hash(small, 4) != content_hash(io.BytesIO(b"tinY"), 4)


def test_matroska_keyframes_come_from_the_cues_not_a_read_through(tmp_path: Path) -> None:
    """A 60 s Matroska file (as S3 would serve it): the probe reads the header, the Cues and the
    last cluster, not the clusters in between, and still finds every keyframe."""
    path = demo.synthesize_clip(tmp_path / "long.mkv", seconds=60.0, width=320, height=240, gop=50)
    size = path.stat().st_size
    with CountingReader(path) as reader:
        result = probe_media(as_binary(reader), name=path.name, role=FileRole.VIDEO, size=size)
        assert reader.bytes_read < size // 4, (reader.reads, reader.bytes_read, size)
    index = result.keyframes
    assert index is not None
    assert index.pts == tuple(int(s / index.time_base) for s in range(0, 60, 2))
    assert index.duration == int(60 / index.time_base)
    assert result == probe(path)
