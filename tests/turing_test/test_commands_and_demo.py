"""`manage.py turing_import_cases` and the seed_demo hook."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.turing_test.factories import import_generated, import_real, write_real_ct, write_real_cxr
from turing_test import services
from turing_test.demo import DEMO_TITLE, seed
from turing_test.models import Study

pytestmark = pytest.mark.django_db


def test_import_a_folder_of_cases_into_a_task(media, admin, tmp_path):
    cases = tmp_path / "cases"
    write_real_ct(cases / "case-01", 31)
    (cases / "case-01" / "report.txt").write_text("FINDINGS: Clear lungs.\nIMPRESSION: Normal.")
    write_real_ct(cases / "case-02", 32)
    (cases / "case-02" / "report.json").write_text(json.dumps({"findings": "Effusion.", "impression": "Small effusion."}))
    (cases / "broken").mkdir()
    (cases / "broken" / "x.dcm").write_bytes(b"nope")
    study = services.study_create(title="Import", created_by=admin)
    task = services.task_create(study=study, actor=admin, kind="ct_report_coherence")
    out = io.StringIO()
    call_command("turing_import_cases", str(cases), "--task", str(task.pk), stdout=out)
    result = json.loads(out.getvalue())
    assert [i["case"] for i in result["imported"]] == ["case-01", "case-02"]
    assert len(result["items"]) == 2 and all(i["truth"] == "real" for i in result["items"])
    assert result["errors"][0]["case"] == "broken"
    parts = [i.parts.get(role="report") for i in task.items.all()]
    assert sorted(p.report_impression for p in parts) == ["Normal.", "Small effusion."]


def test_import_command_errors(media, tmp_path):
    with pytest.raises(CommandError, match="not a folder"):
        call_command("turing_import_cases", str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CommandError, match="no case"):
        call_command("turing_import_cases", str(tmp_path / "empty"))
    write_real_cxr(tmp_path / "c" / "one", 1)
    with pytest.raises(CommandError, match="no task"):
        call_command("turing_import_cases", str(tmp_path / "c"), "--task", "999999")


def test_demo_study_is_created_once_when_sources_exist(media, role_user, tmp_path):
    admin = role_user("studyadmin", "study_admins")
    role_user("reader1", "readers")
    out = io.StringIO()
    seed(stdout=out)
    assert "not created yet" in out.getvalue() and not Study.objects.exists()
    for s in (1, 2):
        import_real(tmp_path, "ct", s)
        import_generated(tmp_path, "ct", s, admin)
    seed(stdout=out)
    study = Study.objects.get(title=DEMO_TITLE)
    assert study.items.count() == 4 and study.assignments.count() == 1
    seed(stdout=out)
    assert Study.objects.filter(title=DEMO_TITLE).count() == 1
