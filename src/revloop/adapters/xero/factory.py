"""Building Xero clients from revloop's settings: a Custom Connection, or a stored code-flow login."""

from __future__ import annotations

from typing import Any

import httpx

from revloop.domain.issues import ConnectorError

from .auth import ClientCredentialsSource, IdentityClient, XeroAuth
from .client import XeroClient
from .tokens import ConnectionStore, StoredTokenSource


def identity_client(settings: Any, *, transport: httpx.BaseTransport | None = None) -> IdentityClient:
    """The identity service for the configured app (a public PKCE app has no secret)."""
    if not settings.xero_client_id:
        raise ConnectorError(
            "Xero is not configured", hint="set xero client_id (and REVLOOP_XERO_CLIENT_SECRET)"
        )
    secret = settings.xero_client_secret.get_secret_value() if settings.xero_client_secret else None
    return IdentityClient(settings.xero_identity_url, settings.xero_client_id, secret, transport=transport)


def custom_connection_client(
    settings: Any, *, transport: httpx.BaseTransport | None = None, **options: Any
) -> XeroClient:
    """A client for a Custom Connection (client_credentials; one organisation, no refresh token)."""
    if not settings.xero_client_secret:
        raise ConnectorError(
            "a Xero Custom Connection needs its client secret", hint="set REVLOOP_XERO_CLIENT_SECRET"
        )
    source = ClientCredentialsSource(identity_client(settings, transport=transport))
    return XeroClient(
        settings.xero_api_url,
        auth=XeroAuth(source),
        connections_url=settings.xero_connections_url,
        transport=transport,
        **options,
    )


def stored_connection_client(
    settings: Any,
    store: ConnectionStore,
    name: str = "default",
    *,
    transport: httpx.BaseTransport | None = None,
    **options: Any,
) -> XeroClient:
    """A client for a code-flow login whose tokens live (encrypted, rotating) in the store."""
    source = StoredTokenSource(store, name, identity_client(settings, transport=transport))
    return XeroClient(
        settings.xero_api_url,
        auth=XeroAuth(source),
        connections_url=settings.xero_connections_url,
        transport=transport,
        **options,
    )
