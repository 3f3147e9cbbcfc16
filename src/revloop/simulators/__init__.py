"""Faithful simulators of the HaloPSA and Xero APIs, for tests and for running with no tenant.

Each simulator is a plain ``handle(httpx.Request) -> httpx.Response`` object: tests use it
in-process through ``httpx.MockTransport``; ``revloop simulate`` serves it over real HTTP.
"""
