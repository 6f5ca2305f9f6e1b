"""Reads of the Visual Turing Test app.

Two audiences, kept apart: ``reader_*`` functions build what a reader receives and must never
touch truth, provenance, generator or source identifiers; the others are for study admins.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from django.db.models import Count, Prefetch, Q, QuerySet

from turing_test.errors import NotFound
from turing_test.models import (
    Assignment,
    AssignmentEntry,
    AuditEvent,
    Item,
    ItemPart,
    Rating,
    Study,
    Task,
)
from turing_test.navigation import navigation_allows_open, rating_is_complete
from turing_test.task_kinds import layout_for

if TYPE_CHECKING:
    import pandas as pd

# --- admin side ------------------------------------------------------------------------------------


def study_list() -> QuerySet[Study]:
    return Study.objects.select_related("created_by").annotate(
        n_items=Count("items", distinct=True), n_readers=Count("assignments", distinct=True)
    )


def study_get(*, pk: int) -> Study:
    study = Study.objects.filter(pk=pk).first()
    if study is None:
        raise NotFound("No such study.")
    return study


def task_balance(*, study: Study) -> list[dict]:
    """Per task: real / synthetic / practice counts and a balance warning."""
    rows = []
    tasks = study.tasks.annotate(
        n_real=Count("items", filter=Q(items__truth=Item.Truth.REAL, items__is_practice=False)),
        n_synthetic=Count("items", filter=Q(items__truth=Item.Truth.SYNTHETIC, items__is_practice=False)),
        n_practice=Count("items", filter=Q(items__is_practice=True)),
    )
    for task in tasks:
        warning = ""
        if not task.n_real or not task.n_synthetic:
            warning = "needs both real and synthetic items"
        elif abs(task.n_real - task.n_synthetic) > 1:
            warning = f"unbalanced: {task.n_real} real vs {task.n_synthetic} synthetic"
        rows.append({"task": task, "n_real": task.n_real, "n_synthetic": task.n_synthetic, "n_practice": task.n_practice, "warning": warning})
    return rows


def study_design(*, study: Study, balance: list[dict] | None = None) -> dict | None:
    """The study as the sample-size planner sees it: readers assigned and the smallest class (real
    or synthetic, practice excluded) over its tasks; None until it has readers and both classes.
    ``balance``: :func:`task_balance` when the caller has it already."""
    rows = task_balance(study=study) if balance is None else balance
    per_class = min((min(r["n_real"], r["n_synthetic"]) for r in rows), default=0)
    readers = study.assignments.count()
    if readers < 1 or per_class < 2:
        return None
    return {"readers": readers, "items_per_class": per_class}


def study_items(*, study: Study) -> QuerySet[Item]:
    return study.items.select_related("task").prefetch_related(
        Prefetch("parts", queryset=ItemPart.objects.select_related("source_study"))
    )


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def study_progress(*, study: Study) -> dict:
    """Per reader: answered / total, completion, time per item (server and client clocks)."""
    assignments = list(study.assignments.select_related("reader").annotate(n_entries=Count("entries")))
    ratings = Rating.objects.filter(assignment__study=study).select_related("item")
    per: dict[int, dict] = defaultdict(lambda: {"answered": 0, "practice_answered": 0, "server": [], "client": []})
    for r in ratings:
        if not rating_is_complete(r, forced_choice=study.forced_choice):
            continue
        bucket = per[r.assignment_id]
        if r.item.is_practice:
            bucket["practice_answered"] += 1
            continue
        bucket["answered"] += 1
        bucket["server"].append(r.server_ms / 1000)
        bucket["client"].append(r.client_ms / 1000)
    n_main = study.items.filter(is_practice=False).count()
    rows = []
    for a in assignments:
        bucket = per[a.pk]
        total = n_main if a.n_entries else 0
        rows.append(
            {
                "assignment": a,
                "reader": a.reader.get_username(),
                "pseudonym": a.pseudonym,
                "status": a.get_status_display(),
                "answered": bucket["answered"],
                "total": total,
                "percent": round(100 * bucket["answered"] / total) if total else 0,
                "practice_answered": bucket["practice_answered"],
                "median_server_s": _median(bucket["server"]),
                "median_client_s": _median(bucket["client"]),
                "total_server_min": round(sum(bucket["server"]) / 60, 1),
                "started_at": a.started_at,
                "submitted_at": a.submitted_at,
            }
        )
    submitted = sum(1 for a in assignments if a.status == Assignment.Status.SUBMITTED)
    return {
        "readers": rows,
        "n_readers": len(assignments),
        "n_submitted": submitted,
        "n_items": n_main,
        "n_ratings": sum(r["answered"] for r in rows),
    }


def study_has_ratings(*, study: Study) -> bool:
    """Whether the study report has anything to analyse (an answered, non-practice rating)."""
    return Rating.objects.filter(assignment__study=study, item__is_practice=False, score__isnull=False).exists()


REPORT_TABLE_COLUMNS = ("item", "reader", "rating", "truth", "task", "modality", "replicated", "forced_choice", "confidence")


def task_report_label(task: Task) -> str:
    """How the study report names a task: ``T<n>`` as in the export's task key, then the title."""
    return f"T{task.position + 1} {task.title}"


def study_rating_table(*, study: Study, reader_names: bool = False) -> pd.DataFrame:
    """The long table :func:`turing_test.stats.build_study_report` analyses, one row per answered
    rating (practice excluded), coded as the exports are (``turing_test/exports.py``):
    ``truth`` 1 = real / 0 = synthetic, ``modality`` = generator (real ratings repeated once per
    generator of their task with ``replicated`` = 1 on the copies, for the MRMC comparison),
    ``forced_choice`` real / synthetic / empty, ``confidence`` 1-5 or empty. ``task`` is
    :func:`task_report_label`; ``reader`` is the study pseudonym (R01, ...), or the account name
    with ``reader_names``. Empty (with the columns) when nobody has answered yet.
    """
    import pandas as pd

    from turing_test.exports import export_rows

    labels = {t.key: task_report_label(t) for t in study.tasks.all()}
    rows = export_rows(study=study, layout="mrmc", identify="username" if reader_names else "pseudonym")
    frame = pd.DataFrame([{c: row[c] for c in REPORT_TABLE_COLUMNS} for row in rows], columns=list(REPORT_TABLE_COLUMNS))
    frame["task"] = frame["task"].map(labels)
    return frame


def audit_events(*, study: Study, limit: int = 200) -> QuerySet[AuditEvent]:
    return study.audit_events.select_related("actor")[:limit]


# --- reader side -----------------------------------------------------------------------------------


def reader_assignments(*, user) -> list[Assignment]:
    """A reader's assignments in studies that are open (or closed, to show the state)."""
    return list(
        Assignment.objects.filter(reader=user, study__status__in=[Study.Status.OPEN, Study.Status.CLOSED])
        .select_related("study")
        .annotate(
            n_entries=Count("entries", distinct=True),
            n_rated=Count("ratings", filter=Q(ratings__score__isnull=False), distinct=True),
        )
        .order_by("-study__opened_at", "-pk")
    )


def reader_assignment_get(*, user, token: str) -> Assignment:
    """The caller's own assignment, or NotFound (another reader's token looks the same as none)."""
    assignment = (
        Assignment.objects.select_related("study").filter(token=token or "", reader_id=user.pk).first()
        if user.is_authenticated
        else None
    )
    if assignment is None:
        raise NotFound("No such assignment.")
    return assignment


def reader_entries(*, assignment: Assignment) -> list[AssignmentEntry]:
    return list(assignment.entries.select_related("item").order_by("position"))


def reader_state(*, assignment: Assignment) -> dict:
    """Where the reader is: per position only the opaque token, answered and practice flags."""
    study = assignment.study
    entries = reader_entries(assignment=assignment)
    ratings = {r.item_id: r for r in Rating.objects.filter(assignment=assignment)}
    answered = {e.position for e in entries if rating_is_complete(ratings.get(e.item_id), forced_choice=study.forced_choice)}
    n_practice = sum(1 for e in entries if e.is_practice)
    slots = []
    for e in entries:
        slots.append(
            {
                "position": e.position,
                "token": e.item.token,
                "practice": e.is_practice,
                "answered": e.position in answered,
                "can_open": (not assignment.is_locked) and navigation_allows_open(assignment, e.position, answered),
            }
        )
    current = entries[assignment.position].item.token if entries else None
    return {
        "assignment": assignment.token,
        "study_title": study.title,
        "instructions": study.instructions,
        "study_status": study.status,
        "status": assignment.status,
        "allow_back": study.allow_back,
        "forced_choice": study.forced_choice,
        "total": len(entries),
        "n_practice": n_practice,
        "answered": len(answered),
        "position": assignment.position,
        "current": current,
        "complete": bool(entries) and len(answered) == len(entries),
        "locked": assignment.is_locked,
        "slots": slots,
    }


def item_stimulus(*, item: Item) -> dict:
    """What every reader of an item sees: presentation copies, the normalised report, the question.

    Nothing here depends on truth or provenance; frontal is always left of lateral.
    """
    task: Task = item.task
    parts = list(item.parts.order_by("position", "id"))
    study_uid = item.presentation_study.study_instance_uid if item.presentation_study_id else ""
    order = {ItemPart.Role.IMAGE: 0, ItemPart.Role.FRONTAL: 1, ItemPart.Role.LATERAL: 2}
    images = [
        {
            "view": part.role,
            "label": {"image": "CT" if item.modality == "ct" else "Image", "frontal": "Frontal", "lateral": "Lateral"}[part.role],
            "study_uid": study_uid,
            "series_uid": part.presentation_series_uid,
        }
        for part in sorted((p for p in parts if p.is_image), key=lambda p: order.get(p.role, 9))
    ]
    report = next((p.presentation_report for p in parts if not p.is_image), None)
    return {
        "token": item.token,
        "layout": layout_for(kind=task.kind, modality=item.modality, n_images=len(images)),
        "modality": item.modality,
        "task": {"question": task.question, "anchors": list(task.anchors)},
        "images": images,
        "report": report,
    }


def reader_item(*, assignment: Assignment, entry: AssignmentEntry) -> dict:
    """The stimulus plus the reader's answer, progress and navigation."""
    item = Item.objects.select_related("task", "presentation_study").get(pk=entry.item_id)
    study = assignment.study
    entries = reader_entries(assignment=assignment)
    ratings = {r.item_id: r for r in Rating.objects.filter(assignment=assignment)}
    answered = {e.position for e in entries if rating_is_complete(ratings.get(e.item_id), forced_choice=study.forced_choice)}
    rating = ratings.get(item.pk)
    pos = entry.position
    return {
        **item_stimulus(item=item),
        "position": pos,
        "number": pos + 1,
        "total": len(entries),
        "n_practice": sum(1 for e in entries if e.is_practice),
        "practice": entry.is_practice,
        "answered": len(answered),
        "rating": {
            "score": rating.score if rating else None,
            "forced_choice": rating.forced_choice if rating else "",
            "confidence": rating.confidence if rating else None,
            "revision": rating.revision if rating else 0,
        },
        "forced_choice_enabled": study.forced_choice,
        "allow_back": study.allow_back,
        "prev": entries[pos - 1].item.token if pos > 0 and study.allow_back else None,
        "next": entries[pos + 1].item.token if pos + 1 < len(entries) else None,
        "is_last": pos + 1 == len(entries),
        "locked": assignment.is_locked,
    }


def preview_items(*, study: Study) -> list[Item]:
    """Admin preview: the items in a fixed preview order (as a reader keyed 'preview' would see)."""
    from turing_test.randomisation import OrderItem, build_order

    items = list(study.items.select_related("task"))
    if not items:
        return []
    order = build_order(
        [OrderItem(key=i.token, truth=i.truth, task=i.task.key, source_case=i.source_case, practice=i.is_practice) for i in items],
        seed=study.seed,
        reader_key="preview",
        shuffle_tasks=study.shuffle_tasks,
    )
    by_token = {i.token: i for i in items}
    return [by_token[t] for t in order]


def truth_counts(*, study: Study) -> Counter:
    return Counter(study.items.values_list("truth", flat=True))
