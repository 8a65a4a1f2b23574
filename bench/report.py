"""``python -m bench all --out DIR``: every scenario, then ``results.json``, ``report.md`` and PNG
plots in DIR.

Each scenario runs with its own defaults (``--quick`` passes through) and its JSON is kept as
``DIR/<scenario>.json`` as soon as it ends, so a long run that is cut short keeps what it measured;
``--reuse`` takes a scenario's result from there instead of running it again (a report can be
regenerated, or a run finished, without measuring everything twice). A scenario that fails is
recorded with its error and the others still run.
"""

from __future__ import annotations

import argparse
import json
import platform
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

Scenario = tuple[Callable[[argparse.ArgumentParser], None], Callable[..., Any]]
STREAM_BARS = ("remux_start_ms", "remux_seek_ms", "transcode_start_ms", "transcode_seek_ms")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, help="where the report goes")
    parser.add_argument("--quick", action="store_true", help="every scenario's tiny run")
    parser.add_argument("--reuse", action="store_true", help="keep DIR/<scenario>.json results")
    parser.add_argument("--only", help="comma-separated scenarios (default: all)")


def run_all(scenarios: Mapping[str, Scenario], args: argparse.Namespace) -> dict[str, Any]:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(args.only.split(",")) if args.only else set(scenarios)
    results: dict[str, Any] = {}
    for name, (add_arguments_of, run) in scenarios.items():
        if name not in wanted:
            continue
        kept = out / f"{name}.json"
        if args.reuse and kept.exists():
            results[name] = json.loads(kept.read_text(encoding="utf-8"))
            continue
        parser = argparse.ArgumentParser(prog=f"python -m bench {name}")
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--quick", action="store_true")
        add_arguments_of(parser)
        log.warning("bench.all.scenario", scenario=name)
        try:
            results[name] = run(parser.parse_args(["--quick"] if args.quick else []))
        except Exception as exc:  # the other scenarios still run
            log.exception("bench.all.failed", scenario=name)
            results[name] = {"scenario": name, "error": f"{type(exc).__name__}: {exc}"}
        kept.write_text(json.dumps(results[name], indent=2) + "\n", encoding="utf-8")
    return write(results, out)


def write(results: dict[str, Any], out: Path) -> dict[str, Any]:
    """``results.json``, the plots and ``report.md`` in ``out``; returns what results.json holds."""
    document = {
        "generated": datetime.now(UTC).isoformat(timespec="seconds"),
        "host": platform.node(),
        "scenarios": results,
    }
    (out / "results.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    plots = draw(results, out)
    (out / "report.md").write_text(markdown(document, plots), encoding="utf-8")
    return document


# --- plots --------------------------------------------------------------------------------------


def draw(results: Mapping[str, Any], out: Path) -> list[str]:
    """The PNGs that the results have data for; their file names."""
    import matplotlib  # noqa: PLC0415 (the plotting backend is chosen before pyplot loads)

    matplotlib.use("Agg")
    drawn: list[str] = []
    for name, painter in (
        ("start_seek.png", _start_seek),
        ("latency_vs_sessions.png", _latency),
        ("soak.png", _soak_plot),
    ):
        if painter(results, out / name):
            drawn.append(name)
    return drawn


def _start_seek(results: Mapping[str, Any], path: Path) -> bool:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    stream = results.get("stream") or {}
    bars = [b for b in STREAM_BARS if isinstance(stream.get(b), dict)]
    if not bars:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5))
    xs = range(len(bars))
    ours = [stream[b]["reelbox"] for b in bars]
    theirs = [stream[b]["baseline"] for b in bars]
    ax.bar([x - 0.2 for x in xs], ours, 0.4, label="Reelbox")
    ax.bar([x + 0.2 for x in xs], theirs, 0.4, label="Jellyfin's way (ffmpeg per playback)")
    ax.set_xticks(list(xs), [b.removesuffix("_ms").replace("_", " ") for b in bars])
    ax.set_yscale("log")
    ax.set_ylabel("ms to the first segment (median, log)")
    ax.set_title("Start and seek latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _latency(results: Mapping[str, Any], path: Path) -> bool:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    players = results.get("players") or {}
    ramps = [(k, players[k]["steps"]) for k in ("remux", "transcode") if players.get(k)]
    ramps = [(k, steps) for k, steps in ramps if steps]
    if not ramps:
        return False
    fig, axes = plt.subplots(1, len(ramps), figsize=(6 * len(ramps), 4.5), squeeze=False)
    for ax, (kind, unsorted) in zip(axes[0], ramps, strict=True):
        steps = sorted(unsorted, key=lambda s: s["n"])
        ns = [s["n"] for s in steps]
        style = "-" if len(set(ns)) == len(ns) else ""  # repeated runs of one N: points only
        for key, label in (("segment_p50_ms", "p50"), ("segment_p99_ms", "p99")):
            ax.plot(ns, [s[key] or 0 for s in steps], marker="o", linestyle=style, label=label)
        stalled = [s["n"] for s in steps if not s["stall_free"]]
        if stalled:
            ax.axvspan(min(stalled) * 0.9, max(ns) * 1.1, color="red", alpha=0.1, label="stalls")
        ax.set_xscale("log" if kind == "remux" and len(set(ns)) > 2 else "linear")
        ax.set_xticks(sorted(set(ns)), [str(n) for n in sorted(set(ns))])
        ax.tick_params(axis="x", which="minor", labelbottom=False)
        ax.set_yscale("log")
        ax.set_xlabel("concurrent players")
        ax.set_ylabel("video segment latency, ms (log)")
        ax.set_title("Direct stream (remux)" if kind == "remux" else "Transcode")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _soak_plot(results: Mapping[str, Any], path: Path) -> bool:
    import matplotlib.pyplot as plt  # noqa: PLC0415

    timeline = (results.get("soak") or {}).get("timeline") or []
    if not timeline:
        return False
    t = [p["t"] for p in timeline]
    fig, (cpu, rss) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    cpu.plot(t, [p["cpu_pct"] for p in timeline], linewidth=0.8)
    cpu.set_ylabel("server CPU, % of a core")
    cpu.set_title(f"Soak: {results['soak'].get('players')} direct-stream players")
    rss.plot(t, [p["rss_mib"] for p in timeline], color="tab:orange")
    rss.set_ylabel("server RSS, MiB")
    rss.set_xlabel("seconds")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


# --- the Markdown report ------------------------------------------------------------------------


def markdown(document: Mapping[str, Any], plots: Sequence[str]) -> str:
    results: Mapping[str, Any] = document["scenarios"]
    machine: Mapping[str, Any] = next(
        (r["machine"] for r in results.values() if "machine" in r), {}
    )
    lines = [
        "# Reelbox benchmarks",
        "",
        f"Generated {document['generated']} on `{document['host']}`: "
        f"{machine.get('cpu_cores')} cores, {machine.get('memory_gib')} GiB, "
        f"{machine.get('platform')}; Reelbox {machine.get('reelbox')}, "
        f"Python {machine.get('python')}, PyAV {machine.get('pyav')} "
        f"(libavformat {machine.get('ffmpeg')}).",
        "",
    ]
    for name, result in results.items():
        lines += [f"## {name}", ""]
        if "error" in result:
            lines += [f"Failed: `{result['error']}`", ""]
            continue
        section = _SECTIONS.get(name, _generic)
        lines += section(result)
        lines.append("")
    for plot in plots:
        lines += [f"![{plot}]({plot})", ""]
    return "\n".join(lines)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return out


def _generic(result: Mapping[str, Any]) -> list[str]:
    rows = [(k, v) for k, v in result.items() if isinstance(v, int | float | str | bool)]
    return _table(("field", "value"), rows)


def _stream(result: Mapping[str, Any]) -> list[str]:
    rows = []
    for name, value in result.items():
        if isinstance(value, dict) and {"reelbox", "baseline", "ratio"} <= set(value):
            met = result.get("targets", {}).get(name, {}).get("met")
            rows.append((name, value["reelbox"], value["baseline"], value["ratio"], met))
    return _table(("measure", "Reelbox", "baseline", "ratio", "target met"), rows)


def _ramp(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    return _table(
        (
            "N", "p50 ms", "p99 ms", "start p50 ms", "seek p50 ms", "stalls (players)",
            "errors", "429", "server CPU %", "load gen CPU %", "RSS MiB", "cache hits",
        ),
        [
            (
                s["n"], s["segment_p50_ms"], s["segment_p99_ms"], s["start_p50_ms"],
                s["seek_p50_ms"], f"{s['stalls']} ({s['stalled_players']})", s["errors"],
                s["rejected_429"], s["server_cpu_pct"], s["loadgen_cpu_pct"],
                s["server_rss_mib_max"], s["cache_hit_rate"],
            )
            for s in steps
        ],
    )  # fmt: skip


def _players(result: Mapping[str, Any]) -> list[str]:
    lines = []
    remux = result.get("remux") or {}
    lines += ["Direct stream (remux):", "", *_ramp(remux.get("steps", [])), ""]
    lines += [f"Largest N without a stall or error: **{remux.get('largest_stall_free')}**.", ""]
    transcode = result.get("transcode")
    if transcode:
        lines += [f"Transcode to {result['settings']['transcode_to']}:", ""]
        lines += [*_ramp(transcode["steps"]), ""]
        lines += _table(
            ("N ffmpeg processes", "speed of each (x real time)", "sustained"),
            [(s["n"], s["speeds"], s["sustained"]) for s in transcode["ffmpeg_cli_steps"]],
        )
        lines += [
            "",
            f"Real-time transcodes sustained: Reelbox **{transcode['largest_stall_free']}**, "
            f"ffmpeg CLI processes (Jellyfin's way) **{transcode['ffmpeg_cli_sustained']}**.",
        ]
    return lines


def _soak(result: Mapping[str, Any]) -> list[str]:
    rows = [
        ("players", result["players"]),
        ("seconds", result["seconds"]),
        ("segments", result["segments"]),
        ("segment p50 / p99 ms", f"{result['segment_p50_ms']} / {result['segment_p99_ms']}"),
        ("stalls (players)", f"{result['stalls']} ({result['stalled_players']})"),
        ("errors", result["errors"]),
        ("RSS idle / first minute / end MiB", f"{result['rss_mib_idle']} / "
         f"{result['rss_mib_after_first_minute']} / {result['rss_mib_end']}"),
        ("RSS growth %", result["rss_growth_pct"]),
        ("fds idle / first minute / end / after", _slashed(result["fds"])),
        ("threads idle / first minute / end / after", _slashed(result["threads"])),
        ("server CPU %", result["server_cpu_pct"]),
        ("load generator CPU %", result["loadgen_cpu_pct"]),
        ("cache hit rate", result["cache_hit_rate"]),
    ]  # fmt: skip
    checks = ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in result["checks"].items())
    return [*_table(("measure", "value"), rows), "", f"Checks: {checks}."]


def _slashed(values: Mapping[str, Any]) -> str:
    return " / ".join(str(v) for v in values.values())


def _memory(result: Mapping[str, Any]) -> list[str]:
    rows = [
        (
            kind,
            g["sessions"],
            g["idle_rss_mib"],
            g["peak_rss_mib"],
            g["rss_mib_per_session"],
            g["segment_cache_mib"],
            g["rss_mib_per_session_without_cache"],
        )
        for kind in ("direct_stream", "transcode")
        if (g := result.get(kind))
    ]
    header = (
        "sessions of",
        "N",
        "idle RSS MiB",
        "peak RSS MiB",
        "MiB per session",
        "segment cache MiB",
        "MiB per session without the cache",
    )
    return [f"Idle RSS: **{result.get('idle_rss_mib')} MiB**.", "", *_table(header, rows)]


_SECTIONS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "stream": _stream,
    "players": _players,
    "soak": _soak,
    "memory": _memory,
}
