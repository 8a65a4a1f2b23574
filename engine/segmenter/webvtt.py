"""WebVTT: subtitle cues written as one WebVTT segment, as text.

Pure, standard library only (``engine.segmenter.subtitles`` reads the cues out of the source).

Times. A cue's ``start`` and ``end`` are seconds on the **presentation timeline**: source time
plus the plan's presentation offset, the same timeline the fMP4 fragments' tfdt and trun put the
video and audio on (``engine.segmenter.remux``). Each HLS segment starts with
``X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000`` and writes cue times as absolute presentation
times, so a cue at T seconds is shown when the media's presentation time is T:

- RFC 8216 section 3.5: the map says which media timestamp (90 kHz) a WebVTT time corresponds
  to; for fMP4 media that is the presentation time in 90 kHz units. Mapping LOCAL 0 to MPEGTS 0
  is also what the RFC tells clients to assume when the header is missing; writing it makes the
  choice explicit (some players treat a missing map as "relative to the segment").
- hls.js (fMP4 too) shifts cues by ``MPEGTS / 90000 - initPTS``, the same ``initPTS`` it takes
  off the fragments' timestamps, so cue and picture move together whatever the first tfdt is.

A cue that straddles a segment boundary is written into every segment it overlaps, as HLS
allows; players drop the duplicates (same times, same text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from math import floor

TIMESTAMP_MAP = "X-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000"
_OVERRIDE = re.compile(r"\{[^}]*\}")  # ASS override blocks ({\i1}, {\pos(1,2)}) and comments
_ASS_FIELDS_BEFORE_TEXT = 8  # ReadOrder, Layer, Style, Name, MarginL, MarginR, MarginV, Effect


@dataclass(frozen=True, slots=True)
class Cue:
    start: Fraction  # seconds, presentation timeline
    end: Fraction
    text: str  # WebVTT cue text, already clean (``clean_text``)


def overlaps(start: Fraction, end: Fraction, lo: Fraction | None, hi: Fraction | None) -> bool:
    """Whether ``[start, end)`` overlaps the segment ``[lo, hi)`` (None: unbounded)."""
    return (lo is None or end > lo) and (hi is None or start < hi)


def timestamp(seconds: Fraction) -> str:
    """``HH:MM:SS.mmm``, rounded half up to the millisecond; negative times clamp to zero."""
    millis = max(0, floor(seconds * 1000 + Fraction(1, 2)))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    whole, part = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{whole:02d}.{part:03d}"


def ass_text(event: str) -> str:
    """The Text field of an FFmpeg ASS event line (``0,0,Default,,0,0,0,,Hello``): what every
    FFmpeg text subtitle decoder (SubRip, mov_text, ASS) hands out. A line without the leading
    fields is taken as text already."""
    parts = event.split(",", _ASS_FIELDS_BEFORE_TEXT)
    return parts[-1] if len(parts) > _ASS_FIELDS_BEFORE_TEXT else event


def clean_text(text: str) -> str:
    """ASS text as WebVTT cue text: override tags dropped, ``\\N`` and ``\\n`` as line breaks,
    ``\\h`` as a no-break space, ``&``, ``<`` and ``>`` escaped, and no blank lines (a blank
    line would end the cue)."""
    text = _OVERRIDE.sub("", text)
    text = text.replace("\\N", "\n").replace("\\n", "\n").replace("\\h", "\u00a0")
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    lines = (line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return "\n".join(line for line in lines if line)


def document(cues: Iterable[Cue], *, timestamp_map: bool = True) -> str:
    """A WebVTT file: the header (with the HLS timestamp map), then the cues in start order.
    Cues with no text or no duration are left out."""
    lines = ["WEBVTT"]
    if timestamp_map:
        lines.append(TIMESTAMP_MAP)
    lines.append("")
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        if not cue.text or cue.end <= cue.start:
            continue
        lines += [f"{timestamp(cue.start)} --> {timestamp(cue.end)}", cue.text, ""]
    return "\n".join(lines) + "\n"
