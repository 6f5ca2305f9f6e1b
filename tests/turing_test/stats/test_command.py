"""``manage.py rating_stats``: published values through the command, and clean failures."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from .reference import REPO_ROOT, assert_published, reference_csv


def run_json(name: str, *extra: str) -> dict:
    out = io.StringIO()
    call_command("rating_stats", "--input", str(reference_csv(name)), "--json", *extra, stdout=out)
    return json.loads(out.getvalue())


def test_shrout_fleiss_through_the_command():
    out = run_json("shrout_fleiss_1979.csv")
    for form, published in {"ICC1": 0.166, "ICC2": 0.290, "ICC3": 0.715,
                            "ICC1k": 0.443, "ICC2k": 0.620, "ICC3k": 0.909}.items():
        assert_published(out["icc"][form]["value"], published, 3)
    assert_published(out["icc"]["ICC2"]["ci95"][0], 0.02, 2)
    assert_published(out["icc"]["ICC2"]["ci95"][1], 0.76, 2)


def test_fleiss_and_cohen_through_the_command():
    out = run_json("fleiss1971_irr_diagnoses.csv")
    assert_published(out["fleiss_kappa"], 0.430, 3)
    pair = next(p for p in out["cohen_kappa"] if p["readers"] == ["rater1", "rater2"])
    assert_published(pair["unweighted"], 0.651, 3)


def test_krippendorff_through_the_command():
    out = run_json("krippendorff2011_4obs_12units.csv", "--scale", "1-5")
    for level, published in {"nominal": 0.743, "ordinal": 0.815, "interval": 0.849, "ratio": 0.797}.items():
        assert_published(out["krippendorff_alpha"][level], published, 3)


def test_sas_kappa_through_the_command():
    pair = run_json("sas_kappa_3x3_table.csv", "--scale", "1-3")["cohen_kappa"][0]
    assert_published(pair["unweighted"], 0.4842, 4)
    assert_published(pair["linear"], 0.4701, 4)
    assert_published(pair["se"]["unweighted"], 0.1380, 4)
    assert_published(pair["se"]["linear"], 0.1457, 4)


def test_readable_output_without_json():
    out = io.StringIO()
    call_command("rating_stats", "--input", str(reference_csv("shrout_fleiss_1979.csv")), stdout=out)
    assert "ICC2" in out.getvalue() and "0.290" in out.getvalue()


@pytest.mark.parametrize("content,scale,fragment", [
    ("item,reader\n1,a\n", None, "missing required column(s): rating"),
    ("item,reader,rating\n1,a,7\n2,a,3\n", "1-5", "outside the declared scale 1-5"),
    ("item,reader,rating\n1,a,3\n", "5-1", "lower end"),
    ("item,reader,rating,truth\n1,a,3,maybe\n", None, "truth must be 0 or 1"),
])
def test_bad_input_is_a_command_error(tmp_path, content, scale, fragment):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    args = ["--input", str(path), "--json"] + (["--scale", scale] if scale else [])
    with pytest.raises(CommandError) as info:
        call_command("rating_stats", *args, stdout=io.StringIO())
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_command_line_exit_status_and_no_traceback(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("item,reader,rating\n1,a,9\n")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "webapp.settings", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "manage.py", "rating_stats", "--input", str(path), "--scale", "1-5", "--json"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "outside the declared scale 1-5" in proc.stderr
    assert proc.stdout == ""
