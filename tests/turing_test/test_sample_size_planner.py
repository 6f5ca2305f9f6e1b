"""Sample-size planner in the study builder and StudyPlanApi: the numbers are plan_study's, the
grid is plan_grid's, bad input is a 400 with a message, only study admins may use it."""

from __future__ import annotations

import inspect
import re

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from turing_test.services.planning import PLAN_FIELDS
from turing_test.stats import planner

pytestmark = pytest.mark.django_db

ASSUMPTIONS = {"auc": 0.5, "icc": 0.5, "reader_sd": 0.05, "reader_correlation": 0.5, "reader_share": 0.1}


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def builder(study):
    return reverse("turing_test:study_detail", args=[study.pk])


def plan_api(study):
    return reverse("api:turing_api:study_plan", args=[study.pk])


def by_testid(html: str, name: str) -> str:
    match = re.search(rf'data-testid="{name}"[^>]*>([^<]*)<', html)
    assert match, name
    return match.group(1).strip()


def test_defaults_are_the_planners_own():
    for name in ASSUMPTIONS:
        function = planner.auc_halfwidth if name in ("auc", "reader_sd", "reader_correlation") else planner.icc2_halfwidth
        assert PLAN_FIELDS[name].default == inspect.signature(function).parameters[name].default == ASSUMPTIONS[name]


def test_builder_shows_the_plan_for_the_defaults(small_study, admin):
    page = login(admin).get(builder(small_study))
    assert page.status_code == 200
    html = page.content.decode()
    expected = planner.plan_study(5, 100, **ASSUMPTIONS)
    assert by_testid(html, "plan-auc") == f"±{expected['auc']['halfwidth']:.3f}"
    assert by_testid(html, "plan-icc") == f"±{expected['icc2']['halfwidth']:.3f}"
    assert 'data-testid="plan-grid"' in html
    selected = by_testid(html, "plan-selected")
    assert selected == f"±{expected['auc']['halfwidth']:.3f} / ±{expected['icc2']['halfwidth']:.3f}"


def test_builder_plan_follows_the_form_and_the_grid_is_plan_grid(small_study, admin):
    query = {"readers": 8, "items_per_class": 60, "auc": 0.7, "icc": 0.6, "reader_sd": 0.04, "reader_correlation": 0.4, "reader_share": 0.05}
    page = login(admin).get(builder(small_study), query)
    assert page.status_code == 200
    html = page.content.decode()
    assumptions = {k: query[k] for k in ASSUMPTIONS}
    expected = planner.plan_study(8, 120, **assumptions)
    assert by_testid(html, "plan-auc") == f"±{expected['auc']['halfwidth']:.3f}"
    assert by_testid(html, "plan-icc") == f"±{expected['icc2']['halfwidth']:.3f}"
    assert "60 real + 60 synthetic items, 8 readers" in html
    # the grid: the usual sizes plus this design, every cell plan_grid's
    grid = html[html.index('data-testid="plan-grid"'):]
    readers, per_class = [3, 5, 8, 10, 20], [25, 50, 60, 100, 250]
    cells = planner.plan_grid(readers, [2 * n for n in per_class], **assumptions)
    shown = re.findall(r"<td[^>]*>±([0-9.]+) / ±([0-9.]+)</td>", grid)
    assert len(shown) == len(cells) == 25
    for (auc, icc), cell in zip(shown, cells, strict=True):
        assert auc == f"{cell['auc']['halfwidth']:.3f}" and icc == f"{cell['icc2']['halfwidth']:.3f}"
    assert 'value="8"' in html  # the form keeps what was asked


def test_one_reader_has_no_icc(small_study, admin):
    html = login(admin).get(builder(small_study), {"readers": 1, "items_per_class": 20}).content.decode()
    assert by_testid(html, "plan-icc") == "n/a" and "2 readers" in html
    assert by_testid(html, "plan-auc") == f"±{planner.plan_study(1, 40)['auc']['halfwidth']:.3f}"


@pytest.mark.parametrize(
    "query,message",
    [
        ({"readers": 0}, "greater than or equal to 1"),
        ({"readers": "abc"}, "whole number"),
        ({"readers": 2.5}, "whole number"),
        ({"items_per_class": 1}, "greater than or equal to 2"),
        ({"auc": 1.5}, "less than or equal to 0.99"),
        ({"icc": 0.9, "reader_share": 0.1}, "at most 0.95"),
        ({"grid_readers": "3,x"}, "whole numbers separated by commas"),
        ({"grid_readers": "0,5"}, "between 1 and 100"),
        ({"grid_items_per_class": "10,20,30,40,50,60,70"}, "1 to 6 values"),
    ],
)
def test_bad_planner_input_is_a_400_with_a_message(small_study, admin, query, message):
    page = login(admin).get(builder(small_study), query)
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-testid="plan-error"' in html and message in html, html[html.find("plan-error") - 200:][:600]
    assert 'data-testid="plan-result"' not in html
    response = api(admin).get(plan_api(small_study), query)
    assert response.status_code == 400 and response.json()


def test_plan_api(small_study, admin, reader_a):
    response = api(admin).get(plan_api(small_study), {"readers": 6, "items_per_class": 40, "icc": 0.7, "grid_readers": "4, 6",
                                                      "grid_items_per_class": "20,40,80"})
    assert response.status_code == 200, response.content
    body = response.json()
    expected = planner.plan_study(6, 80, **{**ASSUMPTIONS, "icc": 0.7})
    assert body["auc"]["halfwidth"] == pytest.approx(expected["auc"]["halfwidth"])
    assert body["icc2"]["halfwidth"] == pytest.approx(expected["icc2"]["halfwidth"])
    assert body["n_items"] == 80 and body["assumptions"]["icc"] == 0.7
    assert body["grid"]["readers"] == [4, 6] and body["grid"]["items_per_class"] == [20, 40, 80]
    selected = [c for row in body["grid"]["rows"] for c in row["cells"] if c["selected"]]
    assert len(selected) == 1 and selected[0]["auc_halfwidth"] == pytest.approx(expected["auc"]["halfwidth"])
    assert body["study_design"] is None  # no readers yet
    defaults = api(admin).get(plan_api(small_study)).json()
    assert defaults["readers"] == 5 and defaults["items_per_class"] == 50
    assert defaults["auc"]["halfwidth"] == pytest.approx(planner.plan_study(5, 100)["auc"]["halfwidth"])
    one = api(admin).get(plan_api(small_study), {"readers": 1}).json()
    assert one["icc2"] is None and "2 readers" in one["notes"]["icc2"]
    assert api(reader_a).get(plan_api(small_study)).status_code == 403
    assert login(reader_a).get(builder(small_study)).status_code == 403
    assert api(admin).get(reverse("api:turing_api:study_plan", args=[999999])).status_code == 404


def test_the_studys_own_design_is_offered(small_study, admin, reader_a, reader_b):
    from turing_test import services

    # the small study's smallest class is 1 (CT realism): too few to plan with
    assert 'data-testid="plan-this-study"' not in login(admin).get(builder(small_study)).content.decode()
    study = services.study_create(title="Reports only", created_by=admin)
    task = services.task_create(study=study, actor=admin, kind="report_realism")
    for n in range(3):
        services.item_add(task=task, actor=admin, report={"findings": f"Finding {n}.", "impression": "Normal."})
        services.item_add(task=task, actor=admin, report={"findings": f"finding {n} .", "impression": "normal ."},
                          report_synthetic=True, generator="medcodi-m")
    for reader in (reader_a, reader_b):
        services.reader_assign(study=study, reader=reader, actor=admin)
    html = login(admin).get(builder(study)).content.decode()
    link = re.search(r'href="([^"]+)" data-testid="plan-this-study"', html)
    assert link and "readers=2&amp;items_per_class=3" in link.group(1)
    assert api(admin).get(plan_api(study)).json()["study_design"] == {"readers": 2, "items_per_class": 3}
