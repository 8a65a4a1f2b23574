"""What a result was measured on: versions and the machine, recorded in every scenario."""

from __future__ import annotations

import importlib.metadata
import os
import platform
from typing import Any

import av


def describe() -> dict[str, Any]:
    try:
        reelbox = importlib.metadata.version("reelbox")
    except importlib.metadata.PackageNotFoundError:
        reelbox = "0+unknown"
    memory = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "reelbox": reelbox,
        "python": platform.python_version(),
        "pyav": av.__version__,
        "ffmpeg": av.library_versions.get("libavformat"),
        "cpu_cores": os.cpu_count(),
        "memory_gib": memory,
        "platform": platform.platform(),
    }
