"""RFC 6381 codec strings (HLS ``CODECS``, DASH ``codecs``) from probed stream facts.

Pure, standard library only. Inputs are what FFmpeg reports: codec names ("h264", "hevc"),
profile names ("High", "Main 10", "LC") and levels as FFmpeg numbers them (H.264: 31 for 3.1;
HEVC: general_level_idc, 30 x the level, 93 for 3.1; AV1: seq_level_idx; VP9: 10 x the level).
``None`` means the codec cannot be named, so the stream cannot be remuxed into CMAF.
"""

from __future__ import annotations

from fractions import Fraction

# H.264 profile_idc and the constraint flags byte (constraint_set0..5 in the high bits).
_AVC_PROFILES: dict[str, tuple[int, int]] = {
    "constrained baseline": (0x42, 0xE0),  # constraint_set0+1 (+2): decodable by every profile
    "baseline": (0x42, 0x00),
    "main": (0x4D, 0x40),  # constraint_set1: decodable by Main decoders
    "extended": (0x58, 0x00),
    "high": (0x64, 0x00),
    "high 10": (0x6E, 0x00),
    "high 10 intra": (0x6E, 0x10),
    "high 4:2:2": (0x7A, 0x00),
    "high 4:2:2 intra": (0x7A, 0x10),
    "high 4:4:4 predictive": (0xF4, 0x00),
    "high 4:4:4 intra": (0xF4, 0x10),
}
# HEVC general_profile_idc and its compatibility flags, bit-reversed as RFC 6381 asks.
_HEVC_PROFILES: dict[str, tuple[int, int]] = {
    "main": (1, 0x6),
    "main 10": (2, 0x4),
    "main still picture": (3, 0x8),
    "rext": (4, 0x10),
}
_AV1_PROFILES = {"main": 0, "high": 1, "professional": 2}
_AAC_OBJECT_TYPES = {"lc": 2, "he-aac": 5, "he-aacv2": 29, "main": 1, "ltp": 4, "ssr": 3}

# H.264 levels: (level, max frame size in macroblocks, max macroblocks per second).
_AVC_LEVELS = (
    (30, 1620, 40_500),
    (31, 3600, 108_000),
    (32, 5120, 216_000),
    (40, 8192, 245_760),
    (42, 8704, 522_240),
    (50, 22_080, 589_824),
    (51, 36_864, 983_040),
    (52, 36_864, 2_073_600),
    (60, 139_264, 4_177_920),
    (61, 139_264, 8_355_840),
    (62, 139_264, 16_711_680),
)


def avc(profile: str | None, level: int | None) -> str:
    """``avc1.PPCCLL``; an unknown profile is taken as High, an unknown level as 4.0."""
    profile_idc, constraints = _AVC_PROFILES.get((profile or "high").lower(), (0x64, 0x00))
    lvl = level if level is not None and 0 < level < 256 else 40
    return f"avc1.{profile_idc:02X}{constraints:02X}{lvl:02X}".lower()


def avc_level(width: int, height: int, frame_rate: Fraction | None) -> int:
    """The lowest H.264 level (3.0 at least) whose frame size and macroblock rate fit."""
    frame_size = -(-width // 16) * -(-height // 16)
    rate = frame_size * (frame_rate if frame_rate else Fraction(30))
    for level, max_fs, max_mbps in _AVC_LEVELS:
        if frame_size <= max_fs and rate <= max_mbps:
            return level
    return _AVC_LEVELS[-1][0]


def hevc(profile: str | None, level: int | None, *, tag: str = "hvc1") -> str:
    """``hvc1.P.C.TL.B0`` (main tier, progressive frame-only constraints). Apple players need
    the ``hvc1`` sample entry (parameter sets in the init segment only), the muxer's choice."""
    profile_idc, compat = _HEVC_PROFILES.get((profile or "main").lower(), (1, 0x6))
    lvl = level if level is not None and level > 0 else 120
    return f"{tag}.{profile_idc}.{compat:X}.L{lvl}.B0"


def av1(profile: str | None, level: int | None, bit_depth: int | None) -> str:
    """``av01.P.LLM.DD`` (main tier); an unknown level is taken as 4.0 (seq_level_idx 8)."""
    p = _AV1_PROFILES.get((profile or "main").lower(), 0)
    lvl = level if level is not None and 0 <= level < 32 else 8
    return f"av01.{p}.{lvl:02d}M.{bit_depth or 8:02d}"


def vp9(profile: str | None, level: int | None, bit_depth: int | None) -> str:
    """``vp09.PP.LL.DD``; FFmpeg rarely knows a VP9 level, taken then as 4.0."""
    p = int(profile[-1]) if profile and profile[-1] in "0123" else 0  # "Profile 2"
    lvl = level if level is not None and 0 < level < 100 else 40
    return f"vp09.{p:02d}.{lvl:02d}.{bit_depth or 8:02d}"


def aac(profile: str | None) -> str:
    return f"mp4a.40.{_AAC_OBJECT_TYPES.get((profile or 'lc').lower(), 2)}"


def codec_string(
    codec: str | None,
    profile: str | None = None,
    level: int | None = None,
    bit_depth: int | None = None,
) -> str | None:
    """The RFC 6381 string of a stream as probed, or None when it has none for CMAF."""
    match codec:
        case "h264":
            return avc(profile, level)
        case "hevc":
            return hevc(profile, level)
        case "av1":
            return av1(profile, level, bit_depth)
        case "vp9":
            return vp9(profile, level, bit_depth)
        case "aac":
            return aac(profile)
        case "ac3":
            return "ac-3"
        case "eac3":
            return "ec-3"
        case "opus":
            return "Opus"
        case "flac":
            return "fLaC"
        case "mp3":
            return "mp4a.40.34"
        case _:
            return None
