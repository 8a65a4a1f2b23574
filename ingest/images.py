"""Rendering catalog images: video thumbnails, album covers and resized photos, as WebP.

Synchronous and CPU-bound: call these in worker threads. Each returns a ``RenderedImage`` with
its size and a blurhash (computed on a 32-pixel-wide copy: the encoder is pure Python and its
cost grows with the pixel count). Undecodable input raises a ``ProbeError`` subclass, never a
raw PyAV or Pillow exception.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.error
import blurhash
import structlog
from av.container import InputContainer
from av.stream import Disposition
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image, ImageOps, ImageStat, UnidentifiedImageError

from ingest.errors import EmptyFile, NotMedia, ProbeError, Truncated

log = structlog.get_logger(__name__)

MediaFile = BinaryIO | str | Path

WEBP_QUALITY = 80
BLURHASH_WIDTH = 32
# A frame is "nearly black" below this mean luma (0-255, full range): fades, title cards.
BLACK_LUMA = 24.0
# How far past the seek point a thumbnail search decodes before settling for the brightest.
SCAN_US = 10_000_000
SCAN_FRAMES = 300
SEEK_FRACTION = Fraction(1, 10)


@dataclass(frozen=True, slots=True)
class RenderedImage:
    kind: str  # thumb, cover, photo
    data: bytes
    width: int
    height: int
    blurhash: str
    content_type: str = "image/webp"


# --- errors ---


@contextmanager
def _mapped(what: str, *, opening: bool) -> Iterator[None]:
    """Translate PyAV/Pillow failures into the ingest error tree, once, here."""
    try:
        yield
    except ProbeError:
        raise  # Unreadable from a source reader, or ours
    except Image.DecompressionBombError as exc:
        raise ProbeError(f"{what}: image too large ({exc})") from exc
    except UnidentifiedImageError as exc:
        raise NotMedia(f"{what}: not an image Pillow can read") from exc
    except av.error.InvalidDataError as exc:
        cls = NotMedia if opening else Truncated
        raise cls(f"{what}: {exc}") from exc
    except av.error.FFmpegError as exc:
        raise Truncated(f"{what}: {exc}") from exc
    except (OSError, ValueError, EOFError, SyntaxError) as exc:  # Pillow's damaged-file errors
        raise Truncated(f"{what}: {exc}") from exc


def _name(file: MediaFile) -> str:
    if isinstance(file, str | Path):
        return str(file)
    name = getattr(file, "name", None)
    return str(name) if isinstance(name, str | bytes) else repr(file)


def _check_not_empty(file: MediaFile, what: str) -> None:
    if isinstance(file, str | Path):
        size = os.path.getsize(file)
    else:
        position = file.tell()
        size = file.seek(0, os.SEEK_END)
        file.seek(position)
    if size == 0:
        raise EmptyFile(f"{what}: empty file")


def _open_media(file: MediaFile, what: str) -> InputContainer:
    with _mapped(what, opening=True):
        _check_not_empty(file, what)
        return av.open(str(file) if isinstance(file, Path) else file, "r")


# --- shared rendering ---


def _blurhash(image: Image.Image) -> str:
    small = image.convert("RGB")
    width = BLURHASH_WIDTH
    height = max(1, round(small.height * width / small.width))
    small = small.resize((width, height), Image.Resampling.BILINEAR)
    raw = small.tobytes()
    rows = [
        [tuple(raw[(y * width + x) * 3 : (y * width + x) * 3 + 3]) for x in range(width)]
        for y in range(height)
    ]
    x_components, y_components = (4, 3) if width >= height else (3, 4)
    return str(blurhash.encode(rows, x_components, y_components))


def _render(kind: str, image: Image.Image) -> RenderedImage:
    if image.mode not in {"RGB", "RGBA"}:
        has_alpha = image.mode in {"LA", "PA"} or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=WEBP_QUALITY, method=4)
    return RenderedImage(kind, buffer.getvalue(), image.width, image.height, _blurhash(image))


def _fit(width: int, height: int, max_width: int) -> tuple[int, int]:
    if width <= max_width:
        return width, height
    return max_width, max(1, round(height * max_width / width))


# --- video thumbnails ---


def _to_image(frame: VideoFrame, width: int, height: int) -> Image.Image:
    """Scale and convert with swscale, then wrap the RGB plane (rows may be padded)."""
    rgb = frame.reformat(width=width, height=height, format="rgb24")
    plane = rgb.planes[0]
    return Image.frombuffer(
        "RGB", (rgb.width, rgb.height), bytes(plane), "raw", "RGB", plane.line_size, 1
    )


def _mean_luma(frame: VideoFrame) -> float:
    height = max(1, round(frame.height * 32 / max(1, frame.width)))
    small = _to_image(frame, 32, height)
    return float(ImageStat.Stat(small.convert("L")).mean[0])


def _frame_us(frame: VideoFrame, stream: VideoStream) -> int | None:
    if frame.pts is None or stream.time_base is None:
        return None
    return int(frame.pts * stream.time_base * 1_000_000)


def _pick_frame(container: InputContainer, stream: VideoStream, start_us: int) -> VideoFrame | None:
    """The first frame at or after the keyframe before ``start_us`` that is not nearly black,
    else the brightest one decoded within ``SCAN_US`` / ``SCAN_FRAMES``."""
    if start_us > 0:
        try:
            container.seek(start_us, backward=True)
        except av.error.FFmpegError:  # unseekable: decode from the start instead
            log.debug("thumbnail.seek_failed", start_us=start_us)
    best: tuple[float, VideoFrame] | None = None
    first_us: int | None = None
    for count, frame in enumerate(container.decode(stream)):
        luma = _mean_luma(frame)
        if luma > BLACK_LUMA:
            return frame
        if best is None or luma > best[0]:
            best = (luma, frame)
        at = _frame_us(frame, stream)
        if first_us is None:
            first_us = at
        if count + 1 >= SCAN_FRAMES or (
            at is not None and first_us is not None and at - first_us >= SCAN_US
        ):
            break
    return best[1] if best else None


def video_thumbnail(
    file: MediaFile, *, duration_us: int | None, max_width: int = 640
) -> RenderedImage | None:
    """A still from about 10% into the video, skipping black frames; None without video.

    Blocking and CPU-bound (seeks, decodes up to ``SCAN_FRAMES`` frames): a worker thread.
    """
    what = _name(file)
    container = _open_media(file, what)
    with container, _mapped(what, opening=False):
        stream = next(
            (s for s in container.streams.video if not s.disposition & Disposition.attached_pic),
            None,
        )
        if stream is None:
            return None
        if duration_us is None and container.duration is not None:
            duration_us = int(container.duration)  # AV_TIME_BASE is microseconds
        start_us = int((duration_us or 0) * SEEK_FRACTION)
        frame = _pick_frame(container, stream, start_us)
        if frame is None and start_us > 0:  # the duration lied; try from the start
            container.seek(0)
            frame = _pick_frame(container, stream, 0)
        if frame is None:
            raise Truncated(f"{what}: no video frame could be decoded")
        width = frame.width
        sar = stream.sample_aspect_ratio
        if sar and sar > 0 and sar != 1:  # anamorphic (DVD, some broadcasts)
            width = max(1, round(frame.width * sar))
        width, height = _fit(width, frame.height, max_width)
        image = _to_image(frame, width, height)
        rotation = frame.rotation  # counter-clockwise degrees from the display matrix
        if rotation % 360:
            image = image.rotate(rotation, expand=True)
        return _render("thumb", image)


# --- album covers ---


def cover_art(file: MediaFile, *, max_size: int = 1000) -> RenderedImage | None:
    """The embedded cover of an audio (or Matroska) file, None when it has none.

    Uses the ``attached_pic`` stream (ID3 APIC, FLAC PICTURE, MP4 covr) or a Matroska image
    attachment. Blocking: a worker thread.
    """
    what = _name(file)
    container = _open_media(file, what)
    with container, _mapped(what, opening=False):
        data: bytes | None = None
        pictures = [s for s in container.streams if s.disposition & Disposition.attached_pic]
        if pictures:
            for packet in container.demux(pictures[0]):
                if packet.size:
                    data = bytes(packet)
                    break
        else:
            attachments = [
                s for s in container.streams.attachments if (s.mimetype or "").startswith("image/")
            ]
            if attachments:
                data = attachments[0].data
        if not data:
            return None
    with _mapped(f"{what} (cover)", opening=True):
        image = Image.open(io.BytesIO(data))
    with image, _mapped(f"{what} (cover)", opening=False):
        image.load()
        image.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
        return _render("cover", image)


# --- photos ---


def photo_image(file: MediaFile, *, max_size: int = 1920) -> RenderedImage:
    """The photo upright (EXIF orientation applied), fitted in ``max_size`` squared, without
    its metadata (no GPS in the served copy). Blocking: a worker thread."""
    what = _name(file)
    with _mapped(what, opening=True):
        _check_not_empty(file, what)
        image = Image.open(file)
    with image, _mapped(what, opening=False):  # closes a file Pillow opened, not the caller's
        image.draft("RGB", (max_size, max_size))  # JPEG: decode at a reduced scale, much faster
        image.load()
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
        return _render("photo", upright)
