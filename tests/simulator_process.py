"""`revloop simulate` as a separate process serving the small demo MSP, for tests over real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def small_simulator(home: Path) -> Iterator[dict[str, Any]]:
    """Serve both simulators on a free port; yields the first line it prints (URLs and credentials)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVLOOP_")}
    env.update({"REVLOOP_HOME": str(home), "NO_COLOR": "1"})
    command = [sys.executable, "-m", "revloop", "simulate", "--port", "0", "--size", "small"]
    server = subprocess.Popen(
        [*command, "--halopsa-rate-limit", "100000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert server.stdout is not None
    try:
        yield json.loads(server.stdout.readline())
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()
