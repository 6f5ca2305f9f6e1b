"""User-facing errors of the cases app (views and APIs turn them into 4xx with the message)."""

from __future__ import annotations


class CaseError(Exception):
    """A problem the user can fix; the message says what."""


class CaseImportError(CaseError):
    """A case ZIP that cannot be imported; nothing of it was kept."""
