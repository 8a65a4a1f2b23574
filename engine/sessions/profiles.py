"""Device profiles: what a client can decode and how it streams, as plain data.

Codec names, profile names and levels are FFmpeg's (``h264`` "High" level 41; ``hevc`` "Main 10"
level 153), so a profile is compared with the catalog's streams without translation. The built-in
profiles describe the common clients; a client may also send its own (the API validates it).
"""

from __future__ import annotations

from dataclasses import dataclass

H264_PROFILES = frozenset({"Constrained Baseline", "Baseline", "Main", "High"})
HEVC_8_10 = frozenset({"Main", "Main 10"})


@dataclass(frozen=True, slots=True)
class VideoSupport:
    """One video codec a client decodes. ``profiles=None`` accepts any profile."""

    codec: str
    profiles: frozenset[str] | None = None
    max_level: int | None = None
    max_bit_depth: int = 8
    hdr: bool = False


@dataclass(frozen=True, slots=True)
class DeviceProfile:
    name: str
    # Containers the client plays as whole files (direct play), by Reelbox's short names:
    # mp4, mov, mkv, webm, ts.
    containers: frozenset[str]
    video: tuple[VideoSupport, ...]
    audio_codecs: frozenset[str]
    max_audio_channels: int = 2
    max_width: int | None = None
    max_height: int | None = None
    max_bitrate: int | None = None  # bits per second, the whole stream
    subtitle_formats: frozenset[str] = frozenset({"webvtt"})
    protocols: frozenset[str] = frozenset({"hls"})  # hls, dash
    segment_containers: frozenset[str] = frozenset({"fmp4", "ts"})
    direct_play: bool = True

    def video_support(self, codec: str | None) -> VideoSupport | None:
        return next((v for v in self.video if v.codec == codec), None)


_WEB_AUDIO = frozenset({"aac", "mp3", "opus", "flac", "vorbis"})

CHROMIUM = DeviceProfile(
    name="chromium",  # Chromium and Chrome with hls.js (MSE): no HEVC
    containers=frozenset({"mp4", "webm"}),
    video=(
        VideoSupport("h264", H264_PROFILES, max_level=52),
        VideoSupport("vp9", max_bit_depth=10),
        VideoSupport("av1", max_bit_depth=10),
    ),
    audio_codecs=_WEB_AUDIO,
    max_audio_channels=6,
    protocols=frozenset({"hls", "dash"}),
)

SAFARI = DeviceProfile(
    name="safari",  # Safari on macOS and iOS: native HLS, HEVC and HDR
    containers=frozenset({"mp4", "mov"}),
    video=(
        VideoSupport("h264", H264_PROFILES, max_level=52),
        VideoSupport("hevc", HEVC_8_10, max_level=153, max_bit_depth=10, hdr=True),
    ),
    audio_codecs=frozenset({"aac", "mp3", "alac", "flac", "ac3", "eac3"}),
    max_audio_channels=6,
)

ANDROID = DeviceProfile(
    name="android",  # Android phones with ExoPlayer (Media3)
    containers=frozenset({"mp4", "mkv", "webm", "ts"}),
    video=(
        VideoSupport("h264", H264_PROFILES, max_level=52),
        VideoSupport("hevc", HEVC_8_10, max_level=153, max_bit_depth=10),
        VideoSupport("vp9", max_bit_depth=10),
        VideoSupport("av1", max_bit_depth=10),
    ),
    audio_codecs=frozenset({"aac", "mp3", "opus", "vorbis", "flac"}),
    max_audio_channels=6,
    protocols=frozenset({"hls", "dash"}),
)

APPLE_TV = DeviceProfile(
    name="apple-tv",  # tvOS: 4K HEVC and Dolby Digital (Plus) passthrough
    containers=frozenset({"mp4", "mov"}),
    video=(
        VideoSupport("h264", H264_PROFILES, max_level=52),
        VideoSupport("hevc", HEVC_8_10, max_level=156, max_bit_depth=10, hdr=True),
    ),
    audio_codecs=frozenset({"aac", "mp3", "alac", "flac", "ac3", "eac3"}),
    max_audio_channels=8,
)

ANDROID_TV = DeviceProfile(
    name="android-tv",  # Android TV and Google TV with ExoPlayer: surround passthrough
    containers=frozenset({"mp4", "mkv", "webm", "ts"}),
    video=(
        VideoSupport("h264", H264_PROFILES, max_level=52),
        VideoSupport("hevc", HEVC_8_10, max_level=156, max_bit_depth=10, hdr=True),
        VideoSupport("vp9", max_bit_depth=10, hdr=True),
        VideoSupport("av1", max_bit_depth=10, hdr=True),
    ),
    audio_codecs=frozenset({"aac", "mp3", "opus", "vorbis", "flac", "ac3", "eac3"}),
    max_audio_channels=8,
    protocols=frozenset({"hls", "dash"}),
)

LEGACY_TS = DeviceProfile(
    name="legacy-ts",  # older set-top boxes and smart TVs: HLS with MPEG-TS, 1080p H.264, stereo
    containers=frozenset(),
    video=(
        VideoSupport(
            "h264", frozenset({"Baseline", "Constrained Baseline", "Main", "High"}), max_level=41
        ),
    ),
    audio_codecs=frozenset({"aac", "mp3"}),
    max_width=1920,
    max_height=1080,
    max_bitrate=20_000_000,
    segment_containers=frozenset({"ts"}),
    direct_play=False,
)

BUILT_IN: dict[str, DeviceProfile] = {
    p.name: p for p in (CHROMIUM, SAFARI, ANDROID, APPLE_TV, ANDROID_TV, LEGACY_TS)
}


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request limits a user sets on top of the device (a data cap, a quality choice)."""

    max_bitrate: int | None = None
    max_height: int | None = None
