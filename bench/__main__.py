"""``python -m bench <scenario> [options]``: Reelbox benchmarks, JSON on stdout.

Each scenario measures Reelbox and its baseline in the same run, interleaved, and reports medians
and ratios: these machines are noisy, and only same-run comparisons mean anything.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bench import api, memory, players, report, scan, soak, stream
from web.logging import configure_logging

SCENARIOS: dict[str, tuple[Callable[[argparse.ArgumentParser], None], Callable[..., Any]]] = {
    "scan": (scan.add_arguments, scan.run),
    "api": (api.add_arguments, api.run),
    "stream": (stream.add_arguments, stream.run),
    "players": (players.add_arguments, players.run),
    "soak": (soak.add_arguments, soak.run),
    "memory": (memory.add_arguments, memory.run),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    sub = parser.add_subparsers(dest="scenario", required=True)
    for name, (add_arguments, _run) in SCENARIOS.items():
        scenario = sub.add_parser(name)
        scenario.add_argument("--json", action="store_true", help="JSON only (the default)")
        scenario.add_argument("--quick", action="store_true", help="a tiny run, for tests")
        add_arguments(scenario)
    every = sub.add_parser("all", help="every scenario, then results.json, report.md and plots")
    report.add_arguments(every)
    args = parser.parse_args(argv)
    configure_logging("warning")  # stdout carries the JSON only
    if args.scenario == "all":
        result = report.run_all(SCENARIOS, args)
    else:
        result = SCENARIOS[args.scenario][1](args)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
