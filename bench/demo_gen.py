"""Time the demo MSP generator: the demo size, and scaled runs by time-entry count.

    python bench/demo_gen.py                      # demo size and 100,000 entries
    python bench/demo_gen.py --entries 1000000    # add a run at that many entries
    python bench/demo_gen.py --json               # print the results as JSON too

Results are written to bench/results/demo_gen.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

from revloop.demo.generator import generate

RESULTS = Path(__file__).parent / "results" / "demo_gen.json"


def run(size: str, entries: int | None) -> dict[str, Any]:
    started = time.perf_counter()
    msp = generate(seed=7, size=size, entries=entries)
    generated = time.perf_counter() - started
    started = time.perf_counter()
    text = msp.to_json()
    dumped = time.perf_counter() - started
    actions = len(msp.halopsa["actions"])
    return {
        "size": msp.size,
        "clients": len(msp.halopsa["client"]),
        "time_entries": actions,
        "tickets": len(msp.halopsa["tickets"]),
        "xero_invoices": len(msp.xero["Invoices"]),
        "planted": len(msp.manifest),
        "generate_seconds": round(generated, 2),
        "seconds_per_100k_entries": round(generated / actions * 100_000, 2),
        "to_json_seconds": round(dumped, 2),
        "json_mb": round(len(text) / 1e6, 1),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--entries",
        type=int,
        action="append",
        default=[],
        help="also time a run at this many time entries (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    runs = [run("demo", None)]
    for entries in [100_000, *args.entries]:
        runs.append(run("large", entries))
        print(f"{runs[-1]['time_entries']:>9} entries: {runs[-1]['generate_seconds']}s", file=sys.stderr)
    result = {"python": platform.python_version(), "machine": platform.machine(), "runs": runs}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
