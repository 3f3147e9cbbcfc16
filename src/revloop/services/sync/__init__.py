"""Bringing HaloPSA and Xero into the store: full and incremental syncs, with a report per resource."""

from .halopsa import sync_halopsa
from .report import Progress, ResourceReport, SyncReport, WaitTally
from .xero import sync_xero

__all__ = ["Progress", "ResourceReport", "SyncReport", "WaitTally", "sync_halopsa", "sync_xero"]
