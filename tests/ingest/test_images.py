from __future__ import annotations

import io
import time
from pathlib import Path

import blurhash
import pytest
from PIL import Image, ImageStat

from ingest import demo
from ingest.errors import EmptyFile, NotMedia, ProbeError, Truncated
from ingest.images import BLACK_LUMA, RenderedImage, cover_art, photo_image, video_thumbnail


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("images")
    demo.synthesize_clip(root / "lead.mp4", seconds=4.0, black_lead_s=1.5)
    demo.synthesize_clip(root / "wide.mkv", seconds=2.0, width=1280, height=720, audio=False)
    demo.synthesize_clip(root / "all-black.mp4", seconds=12.0, black_lead_s=13.0, audio=False)
    demo.synthesize_audio(root / "covered.mp3", cover=demo.cover_jpeg(300, (20, 120, 220)))
    demo.synthesize_audio(root / "covered.flac", cover=demo.cover_jpeg(64))
    demo.synthesize_audio(root / "covered.m4a", cover=demo.cover_jpeg(64))
    demo.synthesize_audio(root / "plain.m4a")
    demo.synthesize_photo(root / "upright.jpg", width=640, height=480, orientation=1)
    demo.synthesize_photo(root / "rotated.jpg", width=640, height=480, orientation=6)
    demo.synthesize_photo(root / "big.png", width=2400, height=1600)
    (root / "garbage.mkv").write_bytes(b"this is not a video" * 100)
    (root / "empty.mp4").write_bytes(b"")
    jpeg = (root / "upright.jpg").read_bytes()
    (root / "truncated.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    return root


def decoded(image: RenderedImage) -> Image.Image:
    assert image.content_type == "image/webp"
    picture = Image.open(io.BytesIO(image.data))
    assert picture.format == "WEBP"
    assert picture.size == (image.width, image.height)
    return picture.convert("RGB")


def luma(picture: Image.Image) -> float:
    return float(ImageStat.Stat(picture.convert("L")).mean[0])


def assert_blurhash(value: str) -> None:
    x, y = blurhash.components(value)
    assert len(value) == 4 + 2 * x * y
    assert blurhash.decode(value, 8, 6)  # decodes without error


def test_thumbnail_skips_the_black_lead_in(media: Path) -> None:
    started = time.perf_counter()
    thumb = video_thumbnail(media / "lead.mp4", duration_us=4_000_000)
    elapsed = time.perf_counter() - started
    assert thumb is not None
    assert thumb.kind == "thumb"
    assert (thumb.width, thumb.height) == (320, 240)
    assert luma(decoded(thumb)) > BLACK_LUMA
    assert_blurhash(thumb.blurhash)
    assert elapsed < 5  # ~0.05 s here


def test_thumbnail_from_a_file_object_without_duration(media: Path) -> None:
    with open(media / "lead.mp4", "rb") as f:
        thumb = video_thumbnail(f, duration_us=None)
    assert thumb is not None and luma(decoded(thumb)) > BLACK_LUMA


def test_thumbnail_is_scaled_to_max_width(media: Path) -> None:
    thumb = video_thumbnail(media / "wide.mkv", duration_us=2_000_000, max_width=480)
    assert thumb is not None
    assert (thumb.width, thumb.height) == (480, 270)
    decoded(thumb)


def test_all_black_video_still_gets_the_brightest_frame(media: Path) -> None:
    thumb = video_thumbnail(media / "all-black.mp4", duration_us=12_000_000)
    assert thumb is not None
    assert luma(decoded(thumb)) <= BLACK_LUMA


def test_a_duration_past_the_end_falls_back_to_the_start(media: Path) -> None:
    thumb = video_thumbnail(media / "lead.mp4", duration_us=400_000_000)
    assert thumb is not None


def test_no_video_means_no_thumbnail(media: Path) -> None:
    assert video_thumbnail(media / "plain.m4a", duration_us=None) is None
    # a cover is an attached picture, not a video
    assert video_thumbnail(media / "covered.mp3", duration_us=None) is None


@pytest.mark.parametrize("name", ["covered.mp3", "covered.flac", "covered.m4a"])
def test_cover_art(media: Path, name: str) -> None:
    cover = cover_art(media / name)
    assert cover is not None
    assert cover.kind == "cover"
    picture = decoded(cover)
    assert cover.width == cover.height
    assert_blurhash(cover.blurhash)
    if name == "covered.mp3":
        assert cover.width == 300
        red, green, blue = (int(c) for c in ImageStat.Stat(picture).mean)
        assert blue > green > red  # the (20, 120, 220) cover, not some other picture


def test_cover_art_is_resized(media: Path) -> None:
    cover = cover_art(media / "covered.mp3", max_size=100)
    assert cover is not None and (cover.width, cover.height) == (100, 100)


def test_no_cover(media: Path) -> None:
    assert cover_art(media / "plain.m4a") is None
    assert cover_art(media / "lead.mp4") is None


def test_photo_orientation_is_applied(media: Path) -> None:
    upright = photo_image(media / "upright.jpg")
    rotated = photo_image(media / "rotated.jpg")
    assert upright.kind == rotated.kind == "photo"
    assert (upright.width, upright.height) == (640, 480)
    assert (rotated.width, rotated.height) == (480, 640)
    # orientation 6 means "rotate 90 degrees clockwise to view": the stored image's left
    # column becomes the top row
    stored = Image.open(media / "rotated.jpg").convert("RGB")
    shown = decoded(rotated)
    expected = stored.transpose(Image.Transpose.ROTATE_270)
    assert luma(shown.crop((0, 0, 480, 40))) == pytest.approx(
        luma(expected.crop((0, 0, 480, 40))), abs=6
    )
    assert_blurhash(rotated.blurhash)


def test_photo_is_fitted_and_stripped(media: Path) -> None:
    photo = photo_image(media / "big.png", max_size=1200)
    assert (photo.width, photo.height) == (1200, 800)
    assert not Image.open(io.BytesIO(photo.data)).getexif()
    with open(media / "upright.jpg", "rb") as f:
        assert photo_image(f, max_size=320).width == 320


@pytest.mark.parametrize(
    ("render", "name", "error"),
    [
        (lambda p: video_thumbnail(p, duration_us=None), "garbage.mkv", NotMedia),
        (lambda p: video_thumbnail(p, duration_us=None), "empty.mp4", EmptyFile),
        (cover_art, "garbage.mkv", NotMedia),
        (photo_image, "garbage.mkv", NotMedia),
        (photo_image, "empty.mp4", EmptyFile),
        (photo_image, "truncated.jpg", Truncated),
        (photo_image, "lead.mp4", NotMedia),
    ],
)
def test_undecodable_input_raises_probe_errors(
    media: Path, render: object, name: str, error: type[ProbeError]
) -> None:
    assert callable(render)
    with pytest.raises(error):
        render(media / name)
