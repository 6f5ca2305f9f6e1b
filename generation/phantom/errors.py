"""The one exception type of the phantom package."""

from __future__ import annotations


class PhantomError(ValueError):
    """Raised for impossible phantom parameters (negative sizes, unknown names, bad shapes).

    A ValueError subclass so callers that already catch ValueError keep working; the message is
    meant to be shown to a user as is (CLI, management command, web form).
    """
