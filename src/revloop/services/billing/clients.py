"""The vendor clients a billing run talks to, built from the settings and stored connections."""

from __future__ import annotations

from revloop.adapters.halopsa.client import HaloClient
from revloop.adapters.xero.client import XeroClient
from revloop.adapters.xero.factory import custom_connection_client, stored_connection_client
from revloop.bootstrap import App
from revloop.domain.issues import AuthError
from revloop.services.connections import connection_store


def xero_client(app: App, name: str = "default") -> tuple[XeroClient, str]:
    """A client for the named connection and the organisation it posts to."""
    settings = app.connector_settings()
    store = connection_store(app)
    stored = store.load(name)
    if stored is None:
        raise AuthError(
            f"revloop is not connected to Xero (no connection named {name!r})",
            hint="run `revloop connect xero` (or `revloop connect xero --custom`)",
        )
    tenant = settings.xero_tenant_id or stored.tenant_id
    if not tenant:
        raise AuthError("no Xero organisation chosen", hint="set xero tenant_id, or connect again")
    if stored.mode == "custom":
        return custom_connection_client(settings), tenant
    return stored_connection_client(settings, store, name), tenant


def halo_client(app: App) -> HaloClient | None:
    """The HaloPSA client, or None when HaloPSA is not configured (write-backs then wait)."""
    settings = app.connector_settings()
    if not (settings.halopsa_base_url and settings.halopsa_client_id and settings.halopsa_client_secret):
        return None
    return HaloClient.from_settings(settings)
