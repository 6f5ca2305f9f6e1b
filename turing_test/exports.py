"""Rating exports for study admins: a long CSV and a JSON document.

Coding (also written into the JSON ``coding`` block and the ``X-RadSynth-Coding`` header):

* ``truth``: **1 = real, 0 = synthetic**. Realism and coherence scores are "higher = more real",
  so ``python manage.py rating_stats --input ratings.csv --scale 1-5`` reports the AUC with which
  readers' scores separate real from synthetic: 0.5 means readers could not tell them apart.
* ``modality``: the generator (preset / model) of a synthetic item. A real item is the control for
  every generator in its task, so with the default ``layout=mrmc`` each real rating is written
  once per generator of that task (``replicated`` = 0 for the first copy, 1 for the others); then
  each modality holds all real items plus that generator's synthetic ones, which is what the
  per-modality AUC and the Obuchowski–Rockette comparison need. ``layout=ratings`` writes every
  rating exactly once (for agreement statistics, which should not see a rating twice): real rows
  carry the task's generator when the task has one, else ``real``. With one generator per task
  (the usual design) the two layouts are identical.
* ``item``: the opaque item token (the same token readers saw); ``reader``: the pseudonym
  (R01, R02, …) or, with ``identify=username``, the account name.
* Practice items are excluded. Only answered ratings (a score) are written; time-only rows are not.
* ``task`` is a stable key ``T<n>-<kind>[-<modality>]``; run the statistics per task with
  ``task=<id>`` (one question per analysis).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from turing_test.models import Assignment, Item, Rating, Study

EXPORT_FORMAT = "radsynth-vtt-export/1"
CODING = {
    "truth": "1 = real, 0 = synthetic (higher scores = more real)",
    "modality": "generator/preset of synthetic items; real items repeated once per generator of their task (layout=mrmc), or written once with the task's only generator / 'real' (layout=ratings)",
    "rating": "1-5 score on the task's question",
    "forced_choice": "reader's answer to 'real or synthetic?' (empty when not asked)",
    "confidence": "1-5 confidence in the forced choice",
    "client_ms": "active time on the item measured in the browser (ms, summed over visits)",
    "server_ms": "time from showing the item to each save, by the server clock (ms, capped per step)",
}
CSV_COLUMNS = (
    "item", "reader", "rating", "truth", "modality", "task", "task_kind", "item_modality", "generator",
    "forced_choice", "forced_choice_correct", "confidence", "client_ms", "server_ms", "answered_at",
    "updated_at", "reader_status", "replicated",
)
LAYOUTS = ("mrmc", "ratings")
IDENTIFY = ("pseudonym", "username")


def _ratings(study: Study, task_id: int | None):
    qs = (
        Rating.objects.filter(assignment__study=study, item__is_practice=False, score__isnull=False)
        .select_related("item", "task", "assignment__reader")
        .order_by("task__position", "item__token", "assignment__pseudonym")
    )
    if task_id is not None:
        qs = qs.filter(task_id=task_id)
    return qs


def _generators_per_task(study: Study) -> dict[int, list[str]]:
    out: dict[int, set[str]] = defaultdict(set)
    for task_id, generator in Item.objects.filter(study=study, truth=Item.Truth.SYNTHETIC).values_list("task_id", "generator"):
        out[task_id].add(generator or "synthetic")
    return {k: sorted(v) for k, v in out.items()}


def export_rows(*, study: Study, layout: str = "mrmc", identify: str = "pseudonym", task_id: int | None = None) -> list[dict]:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    if identify not in IDENTIFY:
        raise ValueError(f"identify must be one of {', '.join(IDENTIFY)}")
    generators = _generators_per_task(study)
    rows = []
    for r in _ratings(study, task_id):
        item = r.item
        base = {
            "item": item.token,
            "reader": r.assignment.pseudonym if identify == "pseudonym" else r.assignment.reader.get_username(),
            "rating": r.score,
            "truth": item.truth_code,
            "task": r.task.key,
            "task_kind": r.task.kind,
            "item_modality": item.modality or "report",
            "generator": item.generator if item.truth == Item.Truth.SYNTHETIC else "",
            "forced_choice": r.forced_choice,
            "forced_choice_correct": "" if not r.forced_choice else int(r.forced_choice == item.truth),
            "confidence": r.confidence if r.confidence is not None else "",
            "client_ms": r.client_ms,
            "server_ms": r.server_ms,
            "answered_at": r.answered_at.isoformat() if r.answered_at else "",
            "updated_at": r.updated_at.isoformat(),
            "reader_status": r.assignment.status,
        }
        if item.truth == Item.Truth.SYNTHETIC:
            rows.append({**base, "modality": item.generator or "synthetic", "replicated": 0})
        elif layout == "ratings":
            task_generators = generators.get(r.task_id) or []
            label = task_generators[0] if len(task_generators) == 1 else "real"
            rows.append({**base, "modality": label, "replicated": 0})
        else:
            for index, generator in enumerate(generators.get(r.task_id) or ["real"]):
                rows.append({**base, "modality": generator, "replicated": int(index > 0)})
    return rows


def export_csv(*, study: Study, layout: str = "mrmc", identify: str = "pseudonym", task_id: int | None = None) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in export_rows(study=study, layout=layout, identify=identify, task_id=task_id):
        writer.writerow({c: row[c] for c in CSV_COLUMNS})
    return buffer.getvalue()


def export_json(*, study: Study, identify: str = "pseudonym") -> dict:
    items = list(study.items.select_related("task").prefetch_related("parts__source_study"))
    assignments = list(study.assignments.select_related("reader"))
    return {
        "format": EXPORT_FORMAT,
        "coding": CODING,
        "study": {
            "id": study.pk,
            "title": study.title,
            "status": study.status,
            "seed": study.seed,
            "allow_back": study.allow_back,
            "forced_choice": study.forced_choice,
            "shuffle_tasks": study.shuffle_tasks,
            "opened_at": study.opened_at.isoformat() if study.opened_at else None,
            "closed_at": study.closed_at.isoformat() if study.closed_at else None,
        },
        "tasks": [
            {"id": t.pk, "key": t.key, "kind": t.kind, "modality": t.modality, "title": t.title, "question": t.question, "anchors": t.anchors}
            for t in study.tasks.all()
        ],
        "items": [
            {
                "item": i.token,
                "task": i.task.key,
                "truth": i.truth_code,
                "truth_label": i.truth,
                "practice": i.is_practice,
                "modality": i.modality or "report",
                "generator": i.generator,
                "source_case": i.source_case,
                "label": i.label,
                "provenance": i.provenance,
                "presentation_study_uid": i.presentation_study.study_instance_uid if i.presentation_study_id else None,
            }
            for i in items
        ],
        "readers": [
            {
                "reader": a.pseudonym if identify == "pseudonym" else a.reader.get_username(),
                "pseudonym": a.pseudonym,
                "status": a.status,
                "started_at": a.started_at.isoformat() if a.started_at else None,
                "submitted_at": a.submitted_at.isoformat() if a.submitted_at else None,
            }
            for a in assignments
        ],
        "ratings": export_rows(study=study, layout="ratings", identify=identify),
        "practice_items_excluded": sum(1 for i in items if i.is_practice),
        "n_submitted": sum(1 for a in assignments if a.status == Assignment.Status.SUBMITTED),
    }
