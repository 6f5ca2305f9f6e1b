"""Exceptions of the statistics core.

Both carry a one-line, user-facing message: the management command and the web views show
``str(exc)`` as is, so it must say what is wrong and where, never a traceback.
"""

from __future__ import annotations


class RatingTableError(ValueError):
    """The rating table cannot be analysed (missing column, rating outside the scale, ...)."""


class UndefinedStatistic(ValueError):
    """A statistic is mathematically undefined for this data; ``str(exc)`` is the reason.

    The summary turns it into ``null`` plus the reason in ``notes``, so that one degenerate
    coefficient never hides the others.
    """
