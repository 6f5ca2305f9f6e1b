"""Pure statistics for Visual Turing Tests (pandas / numpy / scipy; never Django or the ORM).

Entry points: :func:`rating_stats` (the ``manage.py rating_stats`` contract),
:func:`build_study_report` (study report) and :func:`plan_study` (sample-size planner).
The report and planner are imported lazily: matplotlib is not needed to compute statistics.
"""

from typing import Any

from .errors import RatingTableError, UndefinedStatistic
from .summary import rating_stats
from .table import Scale, load_rating_csv, parse_scale, read_rating_csv, validate_table

__all__ = [
    "RatingTableError",
    "Scale",
    "UndefinedStatistic",
    "build_study_report",
    "load_rating_csv",
    "parse_scale",
    "plan_study",
    "rating_stats",
    "read_rating_csv",
    "validate_table",
]


def __getattr__(name: str) -> Any:
    if name == "build_study_report":
        from .report import build_study_report

        return build_study_report
    if name == "plan_study":
        from .planner import plan_study

        return plan_study
    raise AttributeError(name)
