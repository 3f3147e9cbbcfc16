"""``revloop simulate``: serve the HaloPSA and Xero simulators on one port, seeded with the demo MSP.

The first line on stdout is one JSON object with the base URLs and the demo credentials; everything
else goes to stderr.
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

SIZES = ("small", "demo", "large")


def simulate(
    port: Annotated[int, typer.Option(help="Port to listen on (0 = any free port).")] = 8765,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the demo MSP.")] = 7,
    size: Annotated[str, typer.Option(help="Demo MSP size: small, demo or large.")] = "demo",
    snapshot_dir: Annotated[
        Path | None, typer.Option(help="Write snapshot.json, manifest.json and facts.json here.")
    ] = None,
    halopsa_rate_limit: Annotated[
        int, typer.Option(min=1, help="HaloPSA requests allowed per rolling 5 minutes (HaloPSA's is 300).")
    ] = 300,
) -> None:
    """Serve both APIs (HaloPSA under /halopsa, Xero under /xero) and an admin API under /admin."""
    import uvicorn

    from revloop.demo.generator import generate
    from revloop.simulators.server import SimulatorServer

    if size not in SIZES:
        raise typer.BadParameter(f"size must be one of {', '.join(SIZES)}", param_hint="--size")
    started = time.monotonic()
    msp = generate(seed=seed, size=size)
    server = SimulatorServer(halopsa_rate_limit=halopsa_rate_limit)
    server.seed_demo(msp)
    if snapshot_dir is not None:
        snapshot_dir.mkdir(parents=True, exist_ok=True)
        (snapshot_dir / "snapshot.json").write_text(server.snapshot_json(), encoding="utf-8")
        (snapshot_dir / "manifest.json").write_text(msp.to_json("manifest"), encoding="utf-8")
        (snapshot_dir / "facts.json").write_text(msp.to_json("facts"), encoding="utf-8")
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        typer.echo(f"cannot listen on {host}:{port}: {exc}", err=True)
        raise typer.Exit(2) from exc
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    info = server.info(f"http://{shown}:{bound}")
    sys.stdout.write(json.dumps(info) + "\n")
    sys.stdout.flush()
    counts = msp.counts()
    typer.echo(
        f"revloop simulate: {size} MSP (seed {seed}): {counts['halopsa.client']} clients, "
        f"{counts['halopsa.actions']} time entries, {counts['xero.Invoices']} Xero invoices, "
        f"{len(msp.manifest)} planted problems; ready in {time.monotonic() - started:.1f}s",
        err=True,
    )
    typer.echo(f"  HaloPSA  {info['halopsa']['base_url']}", err=True)
    typer.echo(f"  Xero     {info['xero']['api_url']}", err=True)
    typer.echo(f"  admin    {info['admin_url']} (log, faults, time-travel, snapshot, manifest)", err=True)
    if snapshot_dir is not None:
        typer.echo(f"  snapshot {snapshot_dir / 'snapshot.json'}", err=True)
    config = uvicorn.Config(server.asgi(), log_level="warning", access_log=False, lifespan="on", ws="none")
    uvicorn.Server(config).run(sockets=[sock])


def register(app: typer.Typer) -> None:
    """Add the ``simulate`` command to a Typer app."""
    app.command("simulate")(simulate)
