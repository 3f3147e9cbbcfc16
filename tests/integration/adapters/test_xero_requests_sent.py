"""The Xero client counts the requests it sends, retries included (the sync reports calls from it)."""

from __future__ import annotations

from revloop.adapters.xero.client import XeroClient
from revloop.simulators.common import Fault
from revloop.simulators.xero import XeroSimulator


def test_requests_sent_counts_every_call_and_retry(
    xsim: XeroSimulator, xero: XeroClient, tenant: str
) -> None:
    assert xero.requests_sent == 0
    xero.tax_rates(tenant)
    assert xero.requests_sent == 1
    xsim.faults.add(Fault(route=r"GET /api\.xro/2\.0/Accounts", status=503, count=2))
    xero.accounts(tenant)
    assert xero.requests_sent == 4
