"""Errors of ``revloop watch``."""

from __future__ import annotations

from revloop.domain.issues import InputError


class UnknownJob(InputError):
    """``--jobs`` (or ``[watch] jobs``) names a job revloop does not have."""

    code = "watch.unknown_job"


__all__ = ["UnknownJob"]
