"""The dashboard in a real browser (Chromium through Playwright, headless): sign in, wait for the
billing run's preview computed in the background, open a draft, approve one chosen draft and then
the rest of the period (in the background), post them to the (in-process) Xero simulator,
acknowledge a finding. Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from revloop.bootstrap import App
from revloop.simulators.xero import XeroSimulator
from revloop.web.app import create_app

from .conftest import PASSWORD, PERIOD, Clock, sim_clients

CHROMIUM = Path(os.environ.get("REVLOOP_TEST_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium, or set REVLOOP_TEST_CHROMIUM)"
        if IN_CI:
            pytest.fail(reason + "; CI=true requires it")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture
def web(store: App, sim: XeroSimulator, clock: Clock) -> Iterator[FastAPI]:
    """The dashboard as it is served: billing previews and approvals in the background."""
    application = create_app(store, clients=sim_clients(sim), clock=clock)
    yield application
    application.state.web.billing.join(30)


def free_socket() -> socket.socket:
    """A socket bound to a free port of 127.0.0.1."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextmanager
def serve(application: Any, sock: socket.socket) -> Iterator[str]:
    """``application`` under uvicorn on ``sock``, in a thread; yields its URL."""
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", lifespan="off", ws="none"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10  # start-up guard, not an assertion about speed
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def served(web: FastAPI) -> Iterator[str]:
    """The dashboard under uvicorn on a free 127.0.0.1 port, in a thread; yields its URL."""
    with serve(web, free_socket()) as url:
        yield url


def test_month_end_in_the_browser(chromium: Path, served: str, web: FastAPI) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{served}/billing?period={PERIOD}")
            expect(page).to_have_url(f"{served}/login?next=%2Fbilling%3Fperiod%3D{PERIOD}")
            page.get_by_label("Name").fill("finance")
            page.get_by_label("Password").fill(PASSWORD)
            page.screenshot(path=ARTIFACTS / "web-01-sign-in.png")
            page.get_by_role("button", name="Sign in").click()

            expect(page.get_by_role("heading", name="Billing run: October 2026")).to_be_visible()
            # computed in the background: the page shows the progress and refreshes itself
            expect(page.get_by_text("revloop:acme:all:2026-10-01", exact=True)).to_be_visible(timeout=30_000)
            expect(page.get_by_text("total £413.26")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-02-preview.png", full_page=True)

            page.get_by_role("link", name="revloop:acme:all:2026-10-01").click()
            expect(page.get_by_text("Lines of revloop:acme:all:2026-10-01")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-02b-draft.png", full_page=True)
            page.go_back()

            page.get_by_label("Choose revloop:acme:all:2026-10-01").check()
            page.get_by_role("button", name="Approve selected").click()
            expect(page.get_by_role("status")).to_have_text("1 draft approved.")
            expect(page.get_by_label("Choose revloop:acme:all:2026-10-01")).to_have_count(0)

            page.get_by_role("button", name="Approve all 2 drafts").click()
            expect(page).to_have_url(re.compile(r"approving=true"))
            expect(page.locator("#approval-state")).to_have_text("1 draft approved.", timeout=30_000)

            page.get_by_role("button", name="Post approved invoices to Xero").click()
            expect(page.get_by_role("heading", name="Posting to Xero")).to_be_visible()
            expect(page.locator("#post-state")).to_contain_text("Finished: 2 posted", timeout=30_000)
            page.screenshot(path=ARTIFACTS / "web-03-posted.png", full_page=True)

            page.get_by_role("link", name="Invoices").click()
            expect(page.get_by_role("cell", name="£413.26").first).to_be_visible()
            expect(page.get_by_text("posted").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-04-invoices.png", full_page=True)

            page.get_by_role("link", name="Findings").click()
            row = page.locator("tr", has_text="xero.drift")
            row.get_by_label("Reason for acknowledging").fill("Checked against the Xero copy")
            row.get_by_role("button", name="Acknowledge").click()
            expect(page.get_by_role("status")).to_have_text("Finding acknowledged.")
            page.get_by_label("State").select_option("acknowledged")
            page.get_by_role("button", name="Filter").click()
            expect(page.get_by_text("Checked against the Xero copy")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-05-findings.png", full_page=True)

            page.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("heading", name="Sign in to revloop")).to_be_visible()
        finally:
            browser.close()
    assert web.state.web.poster.status().state == "done"


def test_a_technician_sees_hours_but_no_money(chromium: Path, served: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{served}/login")
            page.get_by_label("Name").fill("technician")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Overview: October 2026")).to_be_visible()
            expect(page.get_by_text("2.75 h of work not yet invoiced")).to_be_visible()
            assert "£" not in page.content()
            expect(page.get_by_role("link", name="Billing run")).to_have_count(0)
            page.screenshot(path=ARTIFACTS / "web-06-technician.png", full_page=True)
        finally:
            browser.close()
