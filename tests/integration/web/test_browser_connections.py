"""Connecting Xero from the dashboard in a real browser (Chromium through Playwright, headless): the
"Connect Xero" button sends the browser to the Xero simulator's consent page (served over HTTP), which
approves at once and sends it back to the dashboard's callback; the tokens land in the encrypted
connection store. Then a rate row is added and a user is created the way a person does it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from revloop.bootstrap import App
from revloop.services import connections
from revloop.simulators.common import AsgiBridge, mock_transport
from revloop.simulators.xero import XeroSimulator
from revloop.web.app import create_app
from revloop.web.connection_views import use_xero_transport

from .conftest import PASSWORD, Clock, sim_clients
from .test_browser import ARGS, ARTIFACTS, chromium, free_socket, serve
from .test_connections_page import CLIENT_ID, CLIENT_SECRET, TENANT, code_flow_app

__all__ = ["chromium"]


@pytest.fixture
def served(store: App, sim: XeroSimulator, clock: Clock) -> Iterator[tuple[str, App]]:
    """The Xero simulator and the dashboard, each on its own 127.0.0.1 port."""
    with serve(AsgiBridge(sim), free_socket()) as xero:
        sock = free_socket()
        public = f"http://127.0.0.1:{sock.getsockname()[1]}"
        sim.identity.add_client(CLIENT_ID, CLIENT_SECRET, [f"{public}/connections/xero/callback"])
        app = code_flow_app(store, public, authorize_url=f"{xero}/identity/connect/authorize")
        application = create_app(app, clients=sim_clients(sim), clock=clock)
        use_xero_transport(application, mock_transport(sim))
        with serve(application, sock) as url:
            yield url, app
        app.close()


def test_connect_xero_add_a_rate_and_a_user_in_the_browser(chromium: Path, served: tuple[str, App]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, app = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/connections")
            page.get_by_label("Name").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name="Connections")).to_be_visible()
            expect(page.locator("#redirect-uri")).to_have_text(f"{url}/connections/xero/callback")
            expect(page.get_by_text("revloop is not connected to Xero yet.")).to_be_visible()

            page.get_by_role("button", name="Connect Xero").click()
            expect(page.get_by_role("status")).to_have_text("Xero is connected.")
            expect(page).to_have_url(f"{url}/connections?done=connected")
            expect(page.get_by_role("cell", name="Northgate IT Services Ltd").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-07-connections.png", full_page=True)
            stored = connections.connection_store(app).load("default")
            assert stored is not None and stored.tenant_id == TENANT and stored.tokens is not None
            assert stored.tokens.access_token not in page.content()

            page.get_by_role("link", name="Settings").click()
            page.get_by_label("First day in force").fill("2026-12-01")
            page.get_by_label("Customer (else everyone)").select_option("acme")
            page.get_by_label("Hourly rate").fill("120")
            page.get_by_role("button", name="Add rate row").click()
            expect(page.get_by_role("status")).to_have_text("Rate row added (local: sync keeps it).")
            expect(page.get_by_role("cell", name="£120.00")).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-08-settings.png", full_page=True)

            page.get_by_role("link", name="Users").click()
            page.get_by_label("Name", exact=True).fill("dora")
            page.get_by_label("Role", exact=True).select_option("finance")
            page.get_by_label("Initial password").fill(PASSWORD)
            page.get_by_label("The password again").fill(PASSWORD)
            page.get_by_role("button", name="Add user").click()
            expect(page.get_by_role("status")).to_have_text("User added.")
            expect(page.get_by_role("cell", name="dora", exact=True)).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-09-users.png", full_page=True)
        finally:
            browser.close()
