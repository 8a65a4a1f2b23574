"""The keyframe index of one video stream: presentation times of its keyframes, in stream ticks.

Built at ingest from demuxed packet flags (or the container's own index), stored compactly in the
catalog, and read by the segment planner to put segment boundaries on keyframes. Pure: standard
library only.

The packed form is a small header followed by zigzag-varint deltas of the sorted pts values,
zlib-compressed: a two-hour film with a keyframe every two seconds (3600 entries) packs into a few
kilobytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction

_MAGIC = b"RBK1"
_HEADER = struct.Struct("<4sqqqI")  # magic, tb num, tb den, duration ticks, count


@dataclass(frozen=True, slots=True)
class KeyframeIndex:
    """Keyframe pts of one stream, ascending, in ``time_base`` ticks; ``duration`` in ticks too."""

    time_base: Fraction
    pts: tuple[int, ...]
    duration: int

    def __post_init__(self) -> None:
        if self.time_base <= 0:
            raise ValueError(f"time base must be positive, got {self.time_base}")
        if self.duration < 0:
            raise ValueError(f"duration must not be negative, got {self.duration}")
        if any(b <= a for a, b in zip(self.pts, self.pts[1:], strict=False)):
            raise ValueError("keyframe pts must be strictly ascending")

    def seconds(self, ticks: int) -> Fraction:
        return ticks * self.time_base

    def pack(self) -> bytes:
        out = bytearray(
            _HEADER.pack(
                _MAGIC,
                self.time_base.numerator,
                self.time_base.denominator,
                self.duration,
                len(self.pts),
            )
        )
        previous = 0
        for value in self.pts:
            _write_varint(out, _zigzag(value - previous))
            previous = value
        return zlib.compress(bytes(out), 6)

    @classmethod
    def unpack(cls, blob: bytes) -> KeyframeIndex:
        try:
            raw = zlib.decompress(blob)
        except zlib.error as exc:
            raise ValueError(f"keyframe index is not zlib data: {exc}") from exc
        if len(raw) < _HEADER.size:
            raise ValueError("keyframe index is shorter than its header")
        magic, num, den, duration, count = _HEADER.unpack_from(raw)
        if magic != _MAGIC:
            raise ValueError(f"keyframe index has an unknown format {magic!r}")
        if num <= 0 or den <= 0:
            raise ValueError(f"keyframe index has an invalid time base {num}/{den}")
        pts: list[int] = []
        pos = _HEADER.size
        value = 0
        for _ in range(count):
            delta, pos = _read_varint(raw, pos)
            value += _unzigzag(delta)
            pts.append(value)
        if pos != len(raw):
            raise ValueError("keyframe index has trailing bytes")
        return cls(time_base=Fraction(num, den), pts=tuple(pts), duration=duration)


def _zigzag(n: int) -> int:
    # Python integers are unbounded: map ..., -2, -1, 0, 1, 2 ... to 3, 1, 0, 2, 4 ... at any size
    # (a fixed-width zigzag would break on deltas past 2**63 between int64 timestamps).
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def _unzigzag(n: int) -> int:
    return n >> 1 if not n & 1 else -((n + 1) >> 1)


def _write_varint(out: bytearray, n: int) -> None:
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _read_varint(data: bytes, pos: int) -> tuple[int, int]:
    shift = 0
    result = 0
    while True:
        if pos >= len(data):
            raise ValueError("keyframe index is truncated")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 140:  # two int64 extremes apart, zigzagged: 129 bits
            raise ValueError("keyframe index has an overlong varint")
