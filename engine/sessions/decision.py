"""The playback decision: direct play, direct stream (remux) or transcode, with the reasons.

Pure: a media file's container and streams plus a device profile in, a ``Decision`` out, like
Jellyfin's TranscodeReasons and navidrome's decider. Nothing here raises for an unplayable
combination: the answer is data, and the reasons say what forced the choice.

- Direct play: the client plays the file itself (range requests, or a presigned S3 URL).
- Direct stream: the streams are fine but the container is not, or the client only streams
  (HLS/DASH): the original streams are remuxed into segments, no codec work.
- Transcode: a stream must be re-encoded; the other may still be copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from engine.media import StreamInfo
from engine.sessions.profiles import DeviceProfile, Limits

# FFmpeg demuxer names to the short container names profiles use.
_CONTAINERS = {
    "mov,mp4,m4a,3gp,3g2,mj2": "mp4",
    "matroska,webm": "mkv",
    "mpegts": "ts",
    "avi": "avi",
    "flv": "flv",
    "asf": "wmv",
    "mpeg": "mpeg",
    "ogg": "ogg",
}
_WEBM_CODECS = frozenset({"vp8", "vp9", "av1", "opus", "vorbis", "webvtt"})
_HDR_TRANSFERS = frozenset({"smpte2084", "arib-std-b67"})
_TEXT_SUBTITLES = frozenset({"subrip", "ass", "ssa", "mov_text", "webvtt", "text"})


class Method(StrEnum):
    DIRECT_PLAY = "direct_play"
    DIRECT_STREAM = "direct_stream"
    TRANSCODE = "transcode"


class Action(StrEnum):
    COPY = "copy"
    TRANSCODE = "transcode"


class Reason(StrEnum):
    CONTAINER_NOT_SUPPORTED = "container_not_supported"
    DIRECT_PLAY_NOT_ALLOWED = "direct_play_not_allowed"
    VIDEO_CODEC_NOT_SUPPORTED = "video_codec_not_supported"
    VIDEO_PROFILE_NOT_SUPPORTED = "video_profile_not_supported"
    VIDEO_LEVEL_NOT_SUPPORTED = "video_level_not_supported"
    VIDEO_BIT_DEPTH_NOT_SUPPORTED = "video_bit_depth_not_supported"
    VIDEO_RANGE_NOT_SUPPORTED = "video_range_not_supported"  # HDR on an SDR client
    VIDEO_RESOLUTION_NOT_SUPPORTED = "video_resolution_not_supported"
    BITRATE_TOO_HIGH = "bitrate_too_high"
    AUDIO_CODEC_NOT_SUPPORTED = "audio_codec_not_supported"
    AUDIO_CHANNELS_NOT_SUPPORTED = "audio_channels_not_supported"
    SUBTITLE_NOT_SUPPORTED = "subtitle_not_supported"  # bitmap subtitles: not offered


@dataclass(frozen=True, slots=True)
class Decision:
    method: Method
    video: Action | None  # None: the file has no video stream
    audio: Action | None
    video_stream: int | None
    audio_stream: int | None
    container: str
    reasons: tuple[Reason, ...]
    # Text subtitle streams offered as WebVTT renditions; bitmap ones are listed as dropped.
    subtitles: tuple[int, ...] = ()
    dropped_subtitles: tuple[int, ...] = ()


def container_name(format_name: str | None, streams: Sequence[StreamInfo]) -> str:
    """FFmpeg's demuxer name as a profile's container name (Matroska with only WebM codecs is
    webm)."""
    name = _CONTAINERS.get(format_name or "", format_name or "unknown")
    if name == "mkv" and all(s.codec in _WEBM_CODECS for s in streams if s.kind != "attachment"):
        return "webm"
    return name


def decide(
    format_name: str | None,
    streams: Sequence[StreamInfo],
    bit_rate: int | None,
    profile: DeviceProfile,
    *,
    audio_stream: int | None = None,
    limits: Limits | None = None,
) -> Decision:
    """Decide how ``profile`` plays a file. ``audio_stream`` picks the audio track (default:
    the stream marked default, else the first)."""
    limits = limits or Limits()
    video = next((s for s in streams if s.kind == "video" and not s.is_attached_pic), None)
    audio = _pick_audio(streams, audio_stream)
    container = container_name(format_name, streams)
    video_reasons = _video_reasons(video, bit_rate, profile, limits) if video else []
    audio_reasons = _audio_reasons(audio, profile) if audio else []
    subtitles = [s for s in streams if s.kind == "subtitle"]
    offered = tuple(s.index for s in subtitles if s.codec in _TEXT_SUBTITLES)
    dropped = tuple(s.index for s in subtitles if s.codec not in _TEXT_SUBTITLES)

    reasons: list[Reason] = [*video_reasons, *audio_reasons]
    if dropped:
        reasons.append(Reason.SUBTITLE_NOT_SUPPORTED)
    video_action = None if video is None else (Action.TRANSCODE if video_reasons else Action.COPY)
    audio_action = None if audio is None else (Action.TRANSCODE if audio_reasons else Action.COPY)
    if Action.TRANSCODE in (video_action, audio_action):
        method = Method.TRANSCODE
    else:
        if container not in profile.containers:
            reasons.append(Reason.CONTAINER_NOT_SUPPORTED)
        elif not profile.direct_play:
            reasons.append(Reason.DIRECT_PLAY_NOT_ALLOWED)
        method = (
            Method.DIRECT_PLAY
            if container in profile.containers and profile.direct_play
            else Method.DIRECT_STREAM
        )
    return Decision(
        method=method,
        video=video_action,
        audio=audio_action,
        video_stream=video.index if video else None,
        audio_stream=audio.index if audio else None,
        container=container,
        reasons=tuple(dict.fromkeys(reasons)),
        subtitles=offered,
        dropped_subtitles=dropped,
    )


def _pick_audio(streams: Sequence[StreamInfo], wanted: int | None) -> StreamInfo | None:
    audio = [s for s in streams if s.kind == "audio"]
    if wanted is not None:
        chosen = next((s for s in audio if s.index == wanted), None)
        if chosen is not None:
            return chosen
    return next((s for s in audio if s.is_default), audio[0] if audio else None)


def _video_reasons(
    video: StreamInfo, bit_rate: int | None, profile: DeviceProfile, limits: Limits
) -> list[Reason]:
    support = profile.video_support(video.codec)
    if support is None:
        return [Reason.VIDEO_CODEC_NOT_SUPPORTED]
    reasons: list[Reason] = []
    if support.profiles is not None and video.profile not in support.profiles:
        reasons.append(Reason.VIDEO_PROFILE_NOT_SUPPORTED)
    if (
        support.max_level is not None
        and video.level is not None
        and (video.level > support.max_level)
    ):
        reasons.append(Reason.VIDEO_LEVEL_NOT_SUPPORTED)
    if (video.bit_depth or 8) > support.max_bit_depth:
        reasons.append(Reason.VIDEO_BIT_DEPTH_NOT_SUPPORTED)
    if video.color_transfer in _HDR_TRANSFERS and not support.hdr:
        reasons.append(Reason.VIDEO_RANGE_NOT_SUPPORTED)
    max_height = min(h for h in (profile.max_height, limits.max_height, 1 << 30) if h)
    if (profile.max_width and (video.width or 0) > profile.max_width) or (
        (video.height or 0) > max_height
    ):
        reasons.append(Reason.VIDEO_RESOLUTION_NOT_SUPPORTED)
    max_bitrate = min(b for b in (profile.max_bitrate, limits.max_bitrate, 1 << 62) if b)
    if bit_rate is not None and bit_rate > max_bitrate:
        reasons.append(Reason.BITRATE_TOO_HIGH)
    return reasons


def _audio_reasons(audio: StreamInfo, profile: DeviceProfile) -> list[Reason]:
    reasons: list[Reason] = []
    if audio.codec not in profile.audio_codecs:
        reasons.append(Reason.AUDIO_CODEC_NOT_SUPPORTED)
    if (audio.channels or 2) > profile.max_audio_channels:
        reasons.append(Reason.AUDIO_CHANNELS_NOT_SUPPORTED)
    return reasons
