"""Playlists: HLS v7 master and media playlists and a static DASH MPD, as text.

Pure, standard library only. Every playlist of a media version is written from the same segment
boundaries, so renditions line up segment for segment. Times stay exact (``Fraction`` seconds,
integer ticks) until they are written: EXTINF values are the differences of the boundaries'
times rounded to the millisecond, so they add up to the rounded total with no drift, and
EXT-X-TARGETDURATION is the longest of them rounded up. URIs come from the caller (the web
routes decide paths); a URI that cannot be quoted in a playlist is a ``ValueError``.

The MPD uses the ISO-BMFF live profile over the same CMAF segments: one ``SegmentTemplate``
(``$RepresentationID$`` and ``$Number$``, ``startNumber`` 0) and a run-length ``SegmentTimeline``
per adaptation set, in that set's timescale (90 kHz video, the sample rate for audio, whose
segments are whole frames: ``planner.decode_times``). Subtitles are HLS only for now.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from fractions import Fraction
from itertools import groupby, pairwise
from math import floor

from engine.segmenter.planner import SegmentBoundaries, decode_times, total_duration
from engine.segmenter.renditions import Rendition, RenditionKind

HLS_VERSION = 7
DASH_NAMESPACE = "urn:mpeg:dash:schema:mpd:2011"
DASH_LIVE_PROFILE = "urn:mpeg:dash:profile:isoff-live:2011"
_CHANNELS_SCHEME = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"


# --- HLS ---------------------------------------------------------------------------------


def hls_master(renditions: Sequence[Rendition], *, uri: Callable[[Rendition], str]) -> str:
    """The master playlist: audio and subtitle groups, then one variant per video rendition and
    audio group (or one per audio rendition for audio-only media). ``uri`` names each
    rendition's media playlist."""
    video = [r for r in renditions if r.kind is RenditionKind.VIDEO]
    audio = [r for r in renditions if r.kind is RenditionKind.AUDIO]
    subtitles = [r for r in renditions if r.kind is RenditionKind.SUBTITLE]
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{HLS_VERSION}", "#EXT-X-INDEPENDENT-SEGMENTS"]
    groups: dict[str, list[Rendition]] = {}
    for r in audio:
        groups.setdefault(r.group_id or "audio", []).append(r)
    if video:
        for group, members in groups.items():
            for r in members:
                lines.append(_media_tag("AUDIO", group, r, uri(r)))
    for r in subtitles:
        lines.append(_media_tag("SUBTITLES", r.group_id or "subs", r, uri(r)))
    sub_group = (subtitles[0].group_id or "subs") if subtitles else None

    if not video:  # audio-only media: each audio rendition is a variant of its own
        for r in audio:
            attrs = _variant(r.bandwidth, r.average_bandwidth, [r.codec])
            lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), _uri(uri(r))]
        return "\n".join(lines) + "\n"

    for v in video:
        for group, members in groups.items() or [("", [])]:
            peak = v.bandwidth + max((a.bandwidth for a in members), default=0)
            average = v.average_bandwidth + max((a.average_bandwidth for a in members), default=0)
            codec_list = [v.codec, *dict.fromkeys(a.codec for a in members)]
            attrs = _variant(peak, average, codec_list)
            if v.width and v.height:
                attrs.append(f"RESOLUTION={v.width}x{v.height}")
            if v.frame_rate:
                attrs.append(f"FRAME-RATE={decimal(v.frame_rate)}")
            if group:
                attrs.append(f"AUDIO={_quote(group)}")
            if sub_group:
                attrs.append(f"SUBTITLES={_quote(sub_group)}")
            lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), _uri(uri(v))]
    return "\n".join(lines) + "\n"


def hls_media(
    boundaries: SegmentBoundaries,
    *,
    time_base: Fraction,
    segment_uri: Callable[[int], str],
    init_uri: str | None,
) -> str:
    """A VOD media playlist of fMP4 segments (``init_uri`` is the EXT-X-MAP) or, with
    ``init_uri=None``, of self-contained MPEG-TS segments."""
    return _media(boundaries, time_base, segment_uri, init_uri)


def hls_subtitles(
    boundaries: SegmentBoundaries, *, time_base: Fraction, segment_uri: Callable[[int], str]
) -> str:
    """A VOD media playlist of WebVTT segments cut at the video's boundaries."""
    return _media(boundaries, time_base, segment_uri, None)


def extinf_milliseconds(boundaries: SegmentBoundaries, *, time_base: Fraction) -> list[int]:
    """Each segment's EXTINF in whole milliseconds: differences of the rounded boundary times,
    so they add up to the rounded total duration."""
    times = [_round((b - boundaries[0]) * time_base * 1000) for b in boundaries]
    return [b - a for a, b in pairwise(times)]


def _media(
    boundaries: SegmentBoundaries,
    time_base: Fraction,
    segment_uri: Callable[[int], str],
    init_uri: str | None,
) -> str:
    durations = extinf_milliseconds(boundaries, time_base=time_base)
    target = max(1, -(-max(durations, default=0) // 1000))
    lines = [
        "#EXTM3U",
        f"#EXT-X-VERSION:{HLS_VERSION}",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-INDEPENDENT-SEGMENTS",
    ]
    if init_uri is not None:
        lines.append(f"#EXT-X-MAP:URI={_quote(_uri(init_uri))}")
    for n, ms in enumerate(durations):
        lines += [f"#EXTINF:{ms // 1000}.{ms % 1000:03d},", _uri(segment_uri(n))]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def _media_tag(kind: str, group: str, r: Rendition, uri: str) -> str:
    attrs = [f"TYPE={kind}", f"GROUP-ID={_quote(group)}", f"NAME={_quote(_text(r.name or r.id))}"]
    if r.language:
        attrs.append(f"LANGUAGE={_quote(_text(r.language))}")
    attrs.append(f"DEFAULT={_yes(r.is_default)}")
    attrs.append("AUTOSELECT=YES")
    if kind == "SUBTITLES":
        attrs.append(f"FORCED={_yes(r.is_forced)}")
    if kind == "AUDIO" and r.channels:
        attrs.append(f'CHANNELS="{r.channels}"')
    attrs.append(f"URI={_quote(_uri(uri))}")
    return "#EXT-X-MEDIA:" + ",".join(attrs)


def _variant(peak: int, average: int, codec_list: Sequence[str]) -> list[str]:
    codec_text = ",".join(codec_list)
    return [f"BANDWIDTH={peak}", f"AVERAGE-BANDWIDTH={average}", f"CODECS={_quote(codec_text)}"]


def _yes(flag: bool) -> str:
    return "YES" if flag else "NO"


def _quote(value: str) -> str:
    return f'"{value}"'


def _text(value: str) -> str:
    """A display value made safe for a quoted-string (which cannot hold quotes or newlines)."""
    return " ".join(value.replace('"', "'").split())


def _uri(value: str) -> str:
    if not value or any(c in value for c in '"\r\n') or value.startswith("#"):
        raise ValueError(f"{value!r} cannot be written as a playlist URI")
    return value


# --- DASH --------------------------------------------------------------------------------


def dash_manifest(
    renditions: Sequence[Rendition],
    boundaries: SegmentBoundaries,
    *,
    time_base: Fraction,
    initialization: str,
    media: str,
    origin: int = 0,
    min_buffer_time: Fraction = Fraction(2),
) -> str:
    """A static MPD. ``initialization`` and ``media`` are DASH URL templates shared by every
    adaptation set, so both name ``$RepresentationID$`` and ``media`` names ``$Number$``.
    ``origin`` is the tick the fragments' decode times count from (``planner.decode_times``);
    ``presentationTimeOffset`` makes the first boundary the period's time zero."""
    for name, template in (("initialization", initialization), ("media", media)):
        if "$RepresentationID$" not in template:
            raise ValueError(f"the {name} template must contain $RepresentationID$")
    if "$Number$" not in media:
        raise ValueError("the media template must contain $Number$")
    root = ET.Element(
        "MPD",
        {
            "xmlns": DASH_NAMESPACE,
            "profiles": DASH_LIVE_PROFILE,
            "type": "static",
            "mediaPresentationDuration": _iso_duration(
                total_duration(boundaries, time_base=time_base)
            ),
            "minBufferTime": _iso_duration(min_buffer_time),
        },
    )
    period = ET.SubElement(root, "Period", {"id": "0", "start": "PT0S"})
    video = [r for r in renditions if r.kind is RenditionKind.VIDEO]
    sets: list[tuple[str, list[Rendition]]] = [("video", video)] if video else []
    sets += [("audio", [r]) for r in renditions if r.kind is RenditionKind.AUDIO]
    for number, (content, members) in enumerate(sets):
        first = members[0]
        attrs = {
            "id": str(number),
            "contentType": content,
            "mimeType": f"{content}/mp4",
            "segmentAlignment": "true",
            "startWithSAP": "1",
        }
        if content == "video":
            attrs["maxWidth"] = str(max(r.width or 0 for r in members))
            attrs["maxHeight"] = str(max(r.height or 0 for r in members))
        elif first.language:
            attrs["lang"] = first.language
        adaptation = ET.SubElement(period, "AdaptationSet", attrs)
        if content == "audio":
            role = "main" if first.is_default else "alternate"
            ET.SubElement(
                adaptation, "Role", {"schemeIdUri": "urn:mpeg:dash:role:2011", "value": role}
            )
        times = decode_times(
            boundaries,
            time_base=time_base,
            timescale=first.timescale,
            frame_duration=first.frame_duration,
            origin=origin,
        )
        _segment_template(adaptation, times, first.timescale, initialization, media)
        for r in members:
            _representation(adaptation, r)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def _segment_template(
    parent: ET.Element, times: Sequence[int], timescale: int, initialization: str, media: str
) -> None:
    attrs = {
        "timescale": str(timescale),
        "initialization": initialization,
        "media": media,
        "startNumber": "0",
    }
    if times[0]:
        attrs["presentationTimeOffset"] = str(times[0])
    template = ET.SubElement(parent, "SegmentTemplate", attrs)
    timeline = ET.SubElement(template, "SegmentTimeline")
    for n, (duration, run) in enumerate(segment_timeline(times)):
        s = {"d": str(duration)}
        if n == 0:
            s = {"t": str(times[0]), **s}
        if run > 1:
            s["r"] = str(run - 1)
        ET.SubElement(timeline, "S", s)


def segment_timeline(times: Sequence[int]) -> list[tuple[int, int]]:
    """Run-length encoded segment durations: (duration, how many in a row)."""
    durations = [b - a for a, b in pairwise(times)]
    return [(d, len(list(run))) for d, run in groupby(durations)]


def _representation(parent: ET.Element, r: Rendition) -> None:
    attrs = {"id": r.id, "bandwidth": str(r.bandwidth), "codecs": r.codec}
    if r.kind is RenditionKind.VIDEO:
        if r.width and r.height:
            attrs |= {"width": str(r.width), "height": str(r.height), "sar": "1:1"}
        if r.frame_rate:
            rate = r.frame_rate
            attrs["frameRate"] = (
                str(rate.numerator)
                if rate.denominator == 1
                else f"{rate.numerator}/{rate.denominator}"
            )
        ET.SubElement(parent, "Representation", attrs)
        return
    attrs["audioSamplingRate"] = str(r.timescale)
    rep = ET.SubElement(parent, "Representation", attrs)
    if r.channels:
        ET.SubElement(
            rep,
            "AudioChannelConfiguration",
            {"schemeIdUri": _CHANNELS_SCHEME, "value": str(r.channels)},
        )


# --- numbers -----------------------------------------------------------------------------


def decimal(value: Fraction, places: int = 3) -> str:
    """``value`` with ``places`` decimals, rounded half up (exact: no float)."""
    scale = 10**places
    units = _round(value * scale)
    sign = "-" if units < 0 else ""
    whole, part = divmod(abs(units), scale)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


def _iso_duration(seconds: Fraction) -> str:
    """An ISO 8601 duration such as ``PT1H2M3.500S``."""
    millis = _round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    out = "PT"
    if hours:
        out += f"{hours}H"
    if minutes:
        out += f"{minutes}M"
    return out + f"{rest // 1000}.{rest % 1000:03d}S"


def _round(value: Fraction) -> int:
    return floor(value + Fraction(1, 2))
