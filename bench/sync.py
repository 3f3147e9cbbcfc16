"""Sync cost: ``python bench/sync.py [--size demo] [--clients N] --json``.

Generates the demo MSP, serves it from in-process HaloPSA and Xero simulators, and syncs it into a
fresh SQLite store: a full sync of both, then an incremental sync with nothing changed. Reports, per
run and per resource, the calls made, the rate-limit waits (count and simulated seconds: the
simulators' clock moves instead of the bench sleeping), the wall-clock seconds, and the ratio of
calls to the lower bound (the sum over resources of ceil(records / 100), at least one call each).
``--clients N`` scales the MSP to N clients (650 time entries per client, as the generator does).
Writes ``bench/results/sync.json``, one entry per size (``demo``, ``clients-1000`` ...), keeping the
entries of the other sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from revloop.adapters.db import migrations
from revloop.adapters.db.engine import make_engine
from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.xero.auth import ClientCredentialsSource, IdentityClient, XeroAuth
from revloop.adapters.xero.client import XeroClient
from revloop.adapters.xero.limits import Limits
from revloop.demo.generator import generate
from revloop.services.sync import SyncReport, WaitTally, sync_halopsa, sync_xero
from revloop.simulators.common import FaultInjector, RequestLog, SimClock, mock_transport
from revloop.simulators.halopsa import DEMO_CREDENTIALS, HaloSimulator
from revloop.simulators.xero import XeroSimulator

RESULTS = Path(__file__).parent / "results" / "sync.json"
START = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)
SETTINGS = SimpleNamespace(currency="GBP", timezone="Europe/London")


class TravelSleep:
    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.clock.advance(seconds)


def lower_bound(report: SyncReport) -> int:
    return sum(max(1, math.ceil(r.read / 100)) for r in report.resources)


def summary(report: SyncReport) -> dict[str, Any]:
    bound = lower_bound(report)
    return {
        "calls": report.calls,
        "lower_bound": bound,
        "ratio": round(report.calls / bound, 3) if bound else None,
        "records": report.read,
        "rate_limit_waits": report.rate_limit_waits,
        "rate_limit_seconds": round(report.rate_limit_seconds, 1),
        "seconds": round(report.seconds, 2),
        "issues": len(report.issues),
        "resources": {
            r.resource: {"read": r.read, "calls": r.calls, "waits": r.rate_limit_waits}
            for r in report.resources
        },
    }


def run(size: str, entries: int | None) -> dict[str, Any]:
    began = time.perf_counter()
    msp = generate(seed=7, size=size, entries=entries)
    generated = time.perf_counter() - began
    clock = SimClock(START)
    sleep = TravelSleep(clock)
    waits = WaitTally()
    halo_sim = HaloSimulator(clock=clock, faults=FaultInjector(), log=RequestLog())
    halo_sim.seed(msp.halopsa)
    xero_sim = XeroSimulator(
        clock=clock, faults=FaultInjector(), log=RequestLog(), demo_org=False, day_limit=10**9
    )
    tenant = str(msp.xero["Organisation"]["OrganisationID"])
    xero_sim.seed(msp.xero, tenant_id=tenant, chart=False)
    halo = HaloClient(
        "http://sim/api",
        "http://sim/auth",
        DEMO_CREDENTIALS["client_id"],
        DEMO_CREDENTIALS["client_secret"],
        tenant=DEMO_CREDENTIALS["tenant"],
        transport=mock_transport(halo_sim),
        sleep=sleep,
        clock=clock.monotonic,
        on_wait=waits,
    )
    transport = mock_transport(xero_sim)
    creds = xero_sim.credentials
    identity = IdentityClient(
        "http://sim/identity",
        creds["custom_client_id"],
        creds["custom_client_secret"],
        transport=transport,
        now=clock.now,
    )
    xero = XeroClient(
        "http://sim/api.xro/2.0",
        auth=XeroAuth(ClientCredentialsSource(identity, now=clock.now)),
        transport=transport,
        limits=Limits(clock=clock.monotonic, sleep=sleep, on_wait=waits),
        sleep=sleep,
        on_wait=waits,
    )
    out: dict[str, Any] = {
        "size": msp.size,
        "records": {k: v for k, v in msp.counts().items()},
        "generate_seconds": round(generated, 2),
    }
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{folder}/bench.db")
        migrations.upgrade(engine)
        try:
            for label, full in (("full", True), ("no_change", False)):
                clock.advance(3600)
                runs = {
                    "halopsa": sync_halopsa(
                        engine, halo, full=full, settings=SETTINGS, now=clock.now(), waits=waits
                    ),
                }
                clock.advance(60)
                runs["xero"] = sync_xero(
                    engine, xero, tenant_id=tenant, full=full, settings=SETTINGS, now=clock.now(), waits=waits
                )
                out[label] = {system: summary(report) for system, report in runs.items()}
        finally:
            engine.dispose()
            halo.close()
            xero.close()
    return out


def record(label: str, result: dict[str, Any]) -> None:
    """Store ``result`` under ``label`` in the results file, keeping the other sizes' entries."""
    runs: dict[str, Any] = {}
    if RESULTS.exists():
        runs = json.loads(RESULTS.read_text(encoding="utf-8"))
        if "full" in runs:  # the older single-run layout
            runs = {str(runs.get("size", "demo")): runs}
    runs[label] = result
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(runs, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size", default="demo", choices=("small", "demo", "large"))
    parser.add_argument("--clients", type=int, default=None, help="scale the MSP to this many clients")
    parser.add_argument("--json", action="store_true", help="print JSON (and write bench/results/sync.json)")
    args = parser.parse_args(argv)
    entries = args.clients * 650 if args.clients else None
    result = run(args.size, entries)
    text = json.dumps(result, indent=2, sort_keys=True)
    record(f"clients-{args.clients}" if args.clients else args.size, result)
    if args.json:
        print(text)
    else:
        for label in ("full", "no_change"):
            for system, s in result[label].items():
                print(
                    f"{label:9} {system:8} calls {s['calls']:6} (lower bound {s['lower_bound']}, "
                    f"ratio {s['ratio']}), waits {s['rate_limit_waits']} ({s['rate_limit_seconds']}s), "
                    f"{s['seconds']}s"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
