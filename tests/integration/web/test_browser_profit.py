"""Profitability in a real browser (Chromium through Playwright, headless): a finance user opens
the profitability page, its charts, and a client's drill-down to the time entries behind it.
Screenshots go to tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

from revloop.bootstrap import App

from .conftest import PASSWORD
from .profit_store import profit_store
from .test_browser import ARGS, ARTIFACTS, chromium, served

__all__ = ["chromium", "profit_store", "served"]


def test_a_clients_profitability_drill_down(chromium: Path, profit_store: App, served: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{served}/profit?from=2026-10&to=2026-10")
            page.get_by_label("Name").fill("finance")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()

            expect(page.get_by_role("heading", name="Profitability: October 2026")).to_be_visible()
            expect(page.get_by_role("cell", name="£279.63").or_(page.get_by_text("£279.63"))).to_be_visible()
            chart = page.get_by_role("img", name="Margin per client (the tables above hold the same figures)")
            expect(chart).to_be_visible()
            assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
            page.screenshot(path=ARTIFACTS / "web-07-profit.png", full_page=True)

            page.get_by_role("link", name="Acme Ltd").click()
            expect(page.get_by_role("heading", name="Profitability: Acme Ltd")).to_be_visible()
            expect(page.get_by_text("£251.88")).to_be_visible()
            page.get_by_role("link", name="Support").click()
            expect(page.get_by_role("heading", name="Time entries of Support")).to_be_visible()
            entries = page.locator("table", has_text="Newest first")
            expect(entries.get_by_role("row")).to_have_count(4)  # the header and three entries
            expect(entries.get_by_role("cell", name="40.00")).to_be_visible()
            expect(page.get_by_role("cell", name="INV-0101").first).to_be_visible()
            page.screenshot(path=ARTIFACTS / "web-08-profit-drill-down.png", full_page=True)
        finally:
            browser.close()
