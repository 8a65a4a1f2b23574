"""What the engine knows about a media file's streams: filled by ingest, read by playback.

Defined here, in the innermost layer, so that the catalog, the playback decision and the
segmenter share one type. Standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True, slots=True)
class StreamInfo:
    index: int
    kind: str  # video, audio, subtitle, attachment, data
    codec: str | None = None
    profile: str | None = None
    level: int | None = None
    pix_fmt: str | None = None
    bit_depth: int | None = None
    color_transfer: str | None = None
    width: int | None = None
    height: int | None = None
    fps: Fraction | None = None
    time_base: Fraction | None = None
    bit_rate: int | None = None
    channels: int | None = None
    channel_layout: str | None = None
    sample_rate: int | None = None
    language: str | None = None
    title: str | None = None
    is_default: bool = False
    is_forced: bool = False
    is_attached_pic: bool = False
    external_key: str | None = None
