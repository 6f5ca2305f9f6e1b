"""The acceptance path without a browser: a 20-item CT + CXR study over six task types, two
readers complete it over the API, the exports hold every rating and feed `rating_stats`."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from tests.turing_test.conftest import read_as
from turing_test import services
from turing_test.exports import CSV_COLUMNS
from turing_test.models import Assignment, Item, Rating

pytestmark = pytest.mark.django_db


def test_twenty_item_study_end_to_end(media, admin, reader_a, reader_b, tmp_path, inline_tasks):
    from tests.turing_test.conftest import build_vtt20

    study = build_vtt20(tmp_path / "cases", admin, forced_choice=True)
    main_items = study.items.filter(is_practice=False)
    assert main_items.count() == 20
    assert set(main_items.values_list("modality", flat=True)) == {"ct", "cxr", ""}
    assert study.tasks.count() == 6
    assert set(main_items.values_list("truth", flat=True)) == {"real", "synthetic"}
    for reader in (reader_a, reader_b):
        services.reader_assign(study=study, reader=reader, actor=admin)
    inline_tasks(services.study_open, study=study, actor=admin)
    study.refresh_from_db()
    assert study.status == "open", study.preparation_error
    truth = dict(Item.objects.filter(study=study).values_list("token", "truth"))
    # reader A leans towards "real" for real items; reader B rates at random-ish
    read_as(reader_a, Assignment.objects.get(study=study, reader=reader_a), lambda t: 4 if truth[t] == "real" else 2)
    read_as(reader_b, Assignment.objects.get(study=study, reader=reader_b), lambda t: 3 + (hash(t) % 2))
    assert Assignment.objects.filter(study=study, status="submitted").count() == 2
    services.study_close(study=study, actor=admin)

    admin_client = APIClient()
    admin_client.force_authenticate(admin)
    # one row per rating: every rating of both readers, practice excluded
    flat = admin_client.get(reverse("api:turing_api:study_export_csv", args=[study.pk]) + "?layout=ratings")
    assert flat.status_code == 200 and flat["X-RadSynth-Coding"].startswith("truth: 1=real")
    rows = list(csv.DictReader(io.StringIO(flat.content.decode())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == 40 == Rating.objects.filter(assignment__study=study, item__is_practice=False).count()
    assert {r["reader"] for r in rows} == {"R01", "R02"}
    for r in rows:
        assert r["truth"] == ("1" if truth[r["item"]] == "real" else "0")
        assert r["forced_choice"] == "real" and r["confidence"] == "4"
        assert r["forced_choice_correct"] == ("1" if truth[r["item"]] == "real" else "0")
        assert int(r["client_ms"]) == 2000 and int(r["server_ms"]) >= 0
    # mrmc layout: real ratings of the CT realism task appear once per preset
    mrmc = list(csv.DictReader(io.StringIO(admin_client.get(reverse("api:turing_api:study_export_csv", args=[study.pk])).content.decode())))
    ct_task = study.tasks.get(kind="image_realism", modality="ct")
    ct_rows = [r for r in mrmc if r["task"] == ct_task.key]
    assert {r["modality"] for r in ct_rows} == {"demo-phantom", "report2ct-small"}
    assert len(ct_rows) == 2 * (2 * 2 + 2)  # 2 readers x (2 real x 2 presets + 2 synthetic)
    assert sum(int(r["replicated"]) for r in ct_rows) == 2 * 2
    # the JSON export holds the same ratings plus items with truth and provenance
    doc = admin_client.get(reverse("api:turing_api:study_export_json", args=[study.pk])).json()
    assert len(doc["ratings"]) == 40 and doc["coding"]["truth"].startswith("1 = real")
    assert all("provenance" in i for i in doc["items"]) and doc["practice_items_excluded"] == 1

    # the CT realism task through the statistics command: two readers, two presets (MRMC)
    path = tmp_path / "ct.csv"
    path.write_bytes(admin_client.get(reverse("api:turing_api:study_export_csv", args=[study.pk]) + f"?task={ct_task.pk}").content)
    out = io.StringIO()
    call_command("rating_stats", "--input", str(path), "--scale", "1-5", "--json", "--bootstrap", "0", stdout=out)
    stats = json.loads(out.getvalue())
    assert stats["n_readers"] == 2
    assert "discrimination" in stats and "per_reader_auc" in stats
    assert stats["per_reader_auc"]["R01"] == pytest.approx(1.0)
    # every task, one row per rating: the statistics see all 40 ratings
    total = 0
    for task in study.tasks.all():
        per_task = tmp_path / f"task{task.pk}.csv"
        url = reverse("api:turing_api:study_export_csv", args=[study.pk]) + f"?layout=ratings&task={task.pk}"
        per_task.write_bytes(admin_client.get(url).content)
        out = io.StringIO()
        call_command("rating_stats", "--input", str(per_task), "--scale", "1-5", "--json", "--bootstrap", "0", stdout=out)
        total += json.loads(out.getvalue())["n_ratings"]
    assert total == 40


def test_export_identify_by_username_and_filter_by_task(open_study, admin, reader_a):
    from turing_test.exports import export_rows

    a = Assignment.objects.get(study=open_study, reader=reader_a)
    for n, entry in enumerate(a.entries.order_by("position")[:3]):
        services.assignment_item_open(assignment=a, reader=reader_a, item_token=entry.item.token)
        services.rating_save(assignment=a, reader=reader_a, item_token=entry.item.token, request_id=str(n), score=5)
    rows = export_rows(study=open_study, layout="ratings", identify="username")
    assert rows and {r["reader"] for r in rows} == {"rita"}
    practice = set(open_study.items.filter(is_practice=True).values_list("token", flat=True))
    assert not practice & {r["item"] for r in rows}
    task = open_study.tasks.first()
    assert all(r["task"] == task.key for r in export_rows(study=open_study, task_id=task.pk))
