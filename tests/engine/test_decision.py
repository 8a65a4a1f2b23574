"""The playback decision, table-driven over real-world stream shapes and the built-in profiles."""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.media import StreamInfo
from engine.sessions.decision import Action, Method, Reason, container_name, decide
from engine.sessions.profiles import (
    ANDROID,
    ANDROID_TV,
    APPLE_TV,
    BUILT_IN,
    CHROMIUM,
    LEGACY_TS,
    SAFARI,
    DeviceProfile,
    Limits,
)

MP4 = "mov,mp4,m4a,3gp,3g2,mj2"
MKV = "matroska,webm"


def video(
    codec: str = "h264",
    profile: str = "High",
    level: int = 41,
    *,
    height: int = 1080,
    bit_depth: int = 8,
    transfer: str | None = None,
    index: int = 0,
) -> StreamInfo:
    return StreamInfo(
        index=index,
        kind="video",
        codec=codec,
        profile=profile,
        level=level,
        width=height * 16 // 9,
        height=height,
        bit_depth=bit_depth,
        color_transfer=transfer,
        fps=Fraction(24000, 1001),
    )


def audio(
    codec: str = "aac",
    channels: int = 2,
    *,
    index: int = 1,
    default: bool = False,
    language: str | None = None,
) -> StreamInfo:
    return StreamInfo(
        index=index,
        kind="audio",
        codec=codec,
        channels=channels,
        is_default=default,
        language=language,
    )


def sub(codec: str, index: int) -> StreamInfo:
    return StreamInfo(index=index, kind="subtitle", codec=codec)


H264_AAC = [video(), audio()]
HEVC10_HDR = [
    video("hevc", "Main 10", 153, height=2160, bit_depth=10, transfer="smpte2084"),
    audio("eac3", 6),
]


@pytest.mark.parametrize(
    ("name", "fmt", "streams", "profile", "expected"),
    [
        (
            "h264/aac mp4 in a browser",
            MP4,
            H264_AAC,
            CHROMIUM,
            (Method.DIRECT_PLAY, Action.COPY, Action.COPY, ()),
        ),
        (
            "h264/aac mkv in a browser: remux",
            MKV,
            H264_AAC,
            CHROMIUM,
            (Method.DIRECT_STREAM, Action.COPY, Action.COPY, (Reason.CONTAINER_NOT_SUPPORTED,)),
        ),
        (
            "h264/aac mkv on Android: direct",
            MKV,
            H264_AAC,
            ANDROID,
            (Method.DIRECT_PLAY, Action.COPY, Action.COPY, ()),
        ),
        (
            "4K HDR HEVC in Chromium: transcode video and audio",
            MKV,
            HEVC10_HDR,
            CHROMIUM,
            (
                Method.TRANSCODE,
                Action.TRANSCODE,
                Action.TRANSCODE,
                (Reason.VIDEO_CODEC_NOT_SUPPORTED, Reason.AUDIO_CODEC_NOT_SUPPORTED),
            ),
        ),
        (
            "4K HDR HEVC on Apple TV: remux",
            MKV,
            HEVC10_HDR,
            APPLE_TV,
            (Method.DIRECT_STREAM, Action.COPY, Action.COPY, (Reason.CONTAINER_NOT_SUPPORTED,)),
        ),
        (
            "HDR on an SDR HEVC client",
            MKV,
            HEVC10_HDR,
            ANDROID,
            (
                Method.TRANSCODE,
                Action.TRANSCODE,
                Action.TRANSCODE,
                (Reason.VIDEO_RANGE_NOT_SUPPORTED, Reason.AUDIO_CODEC_NOT_SUPPORTED),
            ),
        ),
        (
            "5.1 AAC on a stereo-only box",
            MP4,
            [video(), audio("aac", 6)],
            LEGACY_TS,
            (
                Method.TRANSCODE,
                Action.COPY,
                Action.TRANSCODE,
                (Reason.AUDIO_CHANNELS_NOT_SUPPORTED,),
            ),
        ),
        (
            "h264 High 10 is a profile problem",
            MP4,
            [video(profile="High 10", bit_depth=10), audio()],
            CHROMIUM,
            (
                Method.TRANSCODE,
                Action.TRANSCODE,
                Action.COPY,
                (Reason.VIDEO_PROFILE_NOT_SUPPORTED, Reason.VIDEO_BIT_DEPTH_NOT_SUPPORTED),
            ),
        ),
        (
            "level 5.1 on a level 4.1 box",
            MP4,
            [video(level=51), audio()],
            LEGACY_TS,
            (Method.TRANSCODE, Action.TRANSCODE, Action.COPY, (Reason.VIDEO_LEVEL_NOT_SUPPORTED,)),
        ),
        (
            "4K h264 on a 1080p box",
            MP4,
            [video(level=41, height=2160), audio()],
            LEGACY_TS,
            (
                Method.TRANSCODE,
                Action.TRANSCODE,
                Action.COPY,
                (Reason.VIDEO_RESOLUTION_NOT_SUPPORTED,),
            ),
        ),
        (
            "a box that never direct plays",
            MP4,
            H264_AAC,
            LEGACY_TS,
            (Method.DIRECT_STREAM, Action.COPY, Action.COPY, (Reason.CONTAINER_NOT_SUPPORTED,)),
        ),
        (
            "music: audio only",
            MP4,
            [audio("aac", index=0)],
            SAFARI,
            (Method.DIRECT_PLAY, None, Action.COPY, ()),
        ),
        (
            "flac music in Safari",
            "flac",
            [audio("flac", index=0)],
            SAFARI,
            (Method.DIRECT_STREAM, None, Action.COPY, (Reason.CONTAINER_NOT_SUPPORTED,)),
        ),
        (
            "vp9/opus webm in a browser",
            MKV,
            [video("vp9", "Profile 0", 0), audio("opus")],
            CHROMIUM,
            (Method.DIRECT_PLAY, Action.COPY, Action.COPY, ()),
        ),
        (
            "AV1 on Safari",
            MKV,
            [video("av1", "Main", 8), audio()],
            SAFARI,
            (Method.TRANSCODE, Action.TRANSCODE, Action.COPY, (Reason.VIDEO_CODEC_NOT_SUPPORTED,)),
        ),
        (
            "MPEG-2 from a DVD rip everywhere",
            "mpeg",
            [video("mpeg2video", "Main", 8), audio("ac3", 6)],
            ANDROID_TV,
            (Method.TRANSCODE, Action.TRANSCODE, Action.COPY, (Reason.VIDEO_CODEC_NOT_SUPPORTED,)),
        ),
    ],
)
def test_decisions(
    name: str,
    fmt: str,
    streams: list[StreamInfo],
    profile: DeviceProfile,
    expected: tuple[Method, Action | None, Action | None, tuple[Reason, ...]],
) -> None:
    decision = decide(fmt, streams, 8_000_000, profile)
    assert (decision.method, decision.video, decision.audio, decision.reasons) == expected, name


def test_bitrate_limits_of_the_device_and_the_user() -> None:
    assert decide(MP4, H264_AAC, 30_000_000, LEGACY_TS).reasons == (Reason.BITRATE_TOO_HIGH,)
    capped = decide(MP4, H264_AAC, 8_000_000, CHROMIUM, limits=Limits(max_bitrate=4_000_000))
    assert (capped.method, capped.video, capped.reasons) == (
        Method.TRANSCODE,
        Action.TRANSCODE,
        (Reason.BITRATE_TOO_HIGH,),
    )
    smaller = decide(MP4, H264_AAC, 8_000_000, CHROMIUM, limits=Limits(max_height=720))
    assert smaller.reasons == (Reason.VIDEO_RESOLUTION_NOT_SUPPORTED,)


def test_audio_track_choice() -> None:
    streams = [
        video(),
        audio("ac3", 6, index=1, language="fra"),
        audio("aac", 2, index=2, default=True, language="eng"),
    ]
    assert decide(MP4, streams, None, CHROMIUM).audio_stream == 2  # the default track
    french = decide(MP4, streams, None, CHROMIUM, audio_stream=1)
    assert (french.audio_stream, french.audio) == (1, Action.TRANSCODE)
    assert decide(MP4, streams, None, CHROMIUM, audio_stream=9).audio_stream == 2


def test_text_subtitles_are_offered_and_bitmaps_dropped() -> None:
    streams = [*H264_AAC, sub("subrip", 2), sub("hdmv_pgs_subtitle", 3), sub("mov_text", 4)]
    decision = decide(MP4, streams, None, CHROMIUM)
    assert (decision.subtitles, decision.dropped_subtitles) == ((2, 4), (3,))
    assert decision.method is Method.DIRECT_PLAY
    assert decision.reasons == (Reason.SUBTITLE_NOT_SUPPORTED,)


@pytest.mark.parametrize(
    ("fmt", "codecs", "name"),
    [
        (MP4, ["h264"], "mp4"),
        (MKV, ["h264", "aac"], "mkv"),
        (MKV, ["vp9", "opus"], "webm"),
        ("mpegts", ["h264"], "ts"),
        (None, [], "unknown"),
        ("wav", ["pcm_s16le"], "wav"),
    ],
)
def test_container_names(fmt: str | None, codecs: list[str], name: str) -> None:
    streams = [StreamInfo(index=i, kind="video", codec=c) for i, c in enumerate(codecs)]
    assert container_name(fmt, streams) == name


def test_every_built_in_profile_plays_plain_h264_aac_without_transcoding() -> None:
    for profile in BUILT_IN.values():
        decision = decide(MP4, H264_AAC, 5_000_000, profile)
        assert decision.method is not Method.TRANSCODE, profile.name
