"""The Xero connector: ``XeroClient`` (client.py) over the Accounting API, sign-in and token rotation
(auth.py, tokens.py), per-organisation limits (limits.py), wire models with exact numbers and
``/Date()/`` dates (wire.py), request bodies and read-back records (mapping.py), error mapping
(errors.py) and construction from settings (factory.py)."""

from .auth import ClientCredentialsSource, IdentityClient, TokenSet, XeroAuth
from .client import ItemResult, Read, RetryPolicy, XeroClient
from .limits import Limits
from .tokens import ConnectionStore, StoredTokenSource

__all__ = [
    "ClientCredentialsSource",
    "ConnectionStore",
    "IdentityClient",
    "ItemResult",
    "Limits",
    "Read",
    "RetryPolicy",
    "StoredTokenSource",
    "TokenSet",
    "XeroAuth",
    "XeroClient",
]
