"""Writes of the Visual Turing Test app, as keyword-only ``<entity>_<action>`` functions, plus the
study report and the sample-size planner (read-only computations with the same error contract)."""

from turing_test.services.audit import audit_log
from turing_test.services.building import (
    item_add,
    item_delete,
    item_set_practice,
    study_create,
    study_delete,
    study_update,
    task_create,
    task_delete,
    task_update,
)
from turing_test.services.lifecycle import (
    study_close,
    study_open,
    study_prepare,
    study_presentation_build,
    study_unprepare,
)
from turing_test.services.planning import sample_size_plan
from turing_test.services.readers import (
    assignment_order_build,
    invitation_accept,
    invitation_account_create,
    invitation_create,
    invitation_revoke,
    reader_assign,
    reader_unassign,
)
from turing_test.services.reading import assignment_item_open, assignment_submit, rating_save
from turing_test.services.reporting import study_report_build, study_report_file

__all__ = [
    "assignment_item_open",
    "assignment_order_build",
    "assignment_submit",
    "audit_log",
    "invitation_accept",
    "invitation_account_create",
    "invitation_create",
    "invitation_revoke",
    "item_add",
    "item_delete",
    "item_set_practice",
    "rating_save",
    "reader_assign",
    "reader_unassign",
    "sample_size_plan",
    "study_close",
    "study_create",
    "study_delete",
    "study_open",
    "study_prepare",
    "study_presentation_build",
    "study_report_build",
    "study_report_file",
    "study_unprepare",
    "study_update",
    "task_create",
    "task_delete",
    "task_update",
]
