"""Issue 7, "done when": a closed study exports its report in every format from the admin UI (and
the API): the 20-item acceptance study, read by two readers, closed, then every format downloaded
and checked; reader identities only on request; roles, bad input and "nothing to report" are 4xx."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import statistics
from html import unescape

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.turing_test.conftest import build_vtt20, read_as
from turing_test import selectors, services
from turing_test.models import Assignment, Item, Rating
from turing_test.services.reporting import REPORT_FORMATS

pytestmark = pytest.mark.django_db

FORMATS = ("html", "pdf", "csv", "json", "xlsx", "ratings")
AGREEMENT_KEYS = ("icc", "krippendorff_alpha", "fleiss_kappa", "cohen_kappa", "kendall_w")


def assert_no_reader_names(body: bytes, fmt: str) -> None:
    # Embedded base64 figures can hold any short letter run by chance: look at the text only.
    text = re.sub(rb"data:image/[a-z]+;base64,[A-Za-z0-9+/=]+", b"", body)
    assert b"rita" not in text and b"rob" not in text, fmt


@pytest.fixture(autouse=True)
def _few_bootstrap_resamples(settings):
    settings.TURING_REPORT_BOOTSTRAP = 50


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def ui_url(study, fmt=None, **params) -> str:
    query = {**({"format": fmt} if fmt else {}), **params}
    return reverse("turing_test:study_report", args=[study.pk]) + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def api_url(study, fmt=None, **params) -> str:
    return ui_url(study, fmt, **params).replace(reverse("turing_test:study_report", args=[study.pk]),
                                                reverse("api:turing_api:study_report", args=[study.pk]))


def rate(assignment, reader, n=None, score=lambda entry: 4):
    """Answer the first ``n`` items of an assignment through the services (all when None)."""
    entries = list(assignment.entries.select_related("item").order_by("position"))
    for k, entry in enumerate(entries[:n]):
        services.assignment_item_open(assignment=assignment, reader=reader, item_token=entry.item.token)
        services.rating_save(assignment=assignment, reader=reader, item_token=entry.item.token, request_id=f"r{k}", score=score(entry))


@pytest.fixture
def closed_vtt20(media, admin, reader_a, reader_b, tmp_path, inline_tasks):
    """The 20-item acceptance study (forced choice on), read completely by two readers, closed.
    Reader A (rita, R01) separates real from synthetic perfectly; reader B (rob, R02) does not."""
    study = build_vtt20(tmp_path / "cases", admin, forced_choice=True)
    for reader in (reader_a, reader_b):
        services.reader_assign(study=study, reader=reader, actor=admin)
    inline_tasks(services.study_open, study=study, actor=admin)
    study.refresh_from_db()
    assert study.status == "open", study.preparation_error
    truth = dict(Item.objects.filter(study=study).values_list("token", "truth"))
    read_as(reader_a, Assignment.objects.get(study=study, reader=reader_a),
            lambda t: 4 if truth[t] == "real" else 2, lambda t: truth[t])
    read_as(reader_b, Assignment.objects.get(study=study, reader=reader_b),
            lambda t: 3 + sum(map(ord, t)) % 3, lambda t: "real" if sum(map(ord, t)) % 2 else "synthetic")
    services.study_close(study=study, actor=admin)
    study.refresh_from_db()
    return study


def check_html(body: bytes, study) -> str:
    html = body.decode()
    assert html.startswith("<!DOCTYPE html>") and study.title in unescape(html)
    assert "Summary (Table 7 layout)" in html and "Real (mean ± SD)" in html and "Synthetic (mean ± SD)" in html
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(images) >= 3  # rating distributions, ROC curves, per-reader heatmaps
    assert all(base64.b64decode(image)[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    return html


def test_closed_study_exports_its_report_in_every_format_from_the_admin_ui_and_the_api(closed_vtt20, admin):
    """One test, because the study takes ~20 s to build and read; the parts are functions below."""
    study = closed_vtt20
    check_rating_table(study)
    check_admin_ui_downloads(study, admin)
    check_reader_names_only_when_asked(study, admin)
    check_api_downloads(study, admin)


def check_admin_ui_downloads(study, admin):
    ui = login(admin)
    dashboard = ui.get(reverse("turing_test:study_dashboard", args=[study.pk]))
    assert dashboard.status_code == 200
    page = dashboard.content.decode()
    for fmt in FORMATS:
        assert f'data-testid="report-{fmt}"' in page, fmt
    assert 'name="reader_names"' in page and 'data-testid="report-preliminary"' not in page
    assert reverse("turing_test:study_report", args=[study.pk]) in page

    files = {}
    for fmt in FORMATS:
        response = ui.get(ui_url(study, fmt))
        assert response.status_code == 200, (fmt, response.content[:500])
        assert response["Content-Type"] == REPORT_FORMATS[fmt].content_type
        disposition = response["Content-Disposition"]
        assert disposition.startswith("inline" if fmt == "html" else "attachment"), disposition
        assert f"study-{study.pk}-report" in disposition and "preliminary" not in disposition
        assert response["X-RadSynth-Report"] == "final"
        files[fmt] = response.content

    # JSON: every statistic, agreement included, readers pseudonymised
    results = json.loads(files["json"])
    tasks = [selectors.task_report_label(t) for t in study.tasks.all()]
    assert results["tasks"] == tasks and len(tasks) == 6
    assert results["n_readers"] == 2 and results["n_items"] == 20 and results["n_ratings"] == 40
    assert results["readers_pseudonymised"] is True and results["study"]["preliminary"] is False
    for task in tasks:
        res = results["per_task"][task]
        for key in AGREEMENT_KEYS:
            assert key in res, (task, key)
        assert res["n_readers"] == 2
        assert res["forced_choice"]["pooled"]["n"] > 0
    ct = results["per_task"][tasks[0]]
    assert ct["icc"] is not None and ct["krippendorff_alpha"] is not None and ct["cohen_kappa"]
    assert ct["per_reader_auc"]["R01"] == pytest.approx(1.0)  # rita separated real from synthetic
    # modality = generator preset: one synthetic CT per preset is too few for MRMC (said why) ...
    assert ct["mrmc"] is None and "fewer than 2 cases" in ct["notes"]["mrmc"]
    # ... while CXR realism (2 real, 2 synthetic of one preset) has its reader-averaged AUC
    assert set(results["per_task"][tasks[1]]["mrmc"]["auc_by_modality"]) == {"demo-phantom"}
    assert ct["forced_choice"]["per_reader"]["R01"]["accuracy"] == pytest.approx(1.0)

    # Table 7 numbers = the database's scores (truth coding 1 = real, 0 = synthetic)
    for task, row in zip(study.tasks.all(), results["table7"], strict=True):
        assert row["task"] == selectors.task_report_label(task)
        for truth in ("real", "synthetic"):
            scores = list(Rating.objects.filter(task=task, item__truth=truth, item__is_practice=False).values_list("score", flat=True))
            assert row[truth]["n"] == len(scores)
            assert row[truth]["mean"] == pytest.approx(statistics.mean(scores))

    # HTML: Table 7 rows and embedded PNG figures
    html = check_html(files["html"], study)
    for row in results["table7"]:
        cells = f"<td>{row['task']}</td><td>{row['real_label']}</td><td>{row['synthetic_label']}</td>"
        assert cells in unescape(html), cells

    assert files["pdf"][:5] == b"%PDF-"
    book = openpyxl.load_workbook(io.BytesIO(files["xlsx"]), read_only=True)
    assert "Table 7" in book.sheetnames
    xlsx_text = " ".join(str(c) for ws in book for r in ws.iter_rows(values_only=True) for c in r if c is not None)
    assert tasks[0] in xlsx_text

    summary = list(csv.DictReader(io.StringIO(files["csv"].decode())))
    assert {"task", "section", "statistic", "value", "ci95_lo", "ci95_hi"} <= set(summary[0])
    assert {"descriptive", "agreement", "discrimination"} <= {r["section"] for r in summary}
    assert {r["task"] for r in summary} == set(tasks)

    ratings = list(csv.DictReader(io.StringIO(files["ratings"].decode())))
    assert {r["reader"] for r in ratings} == {"R01", "R02"}
    assert sum(r["replicated"] == "0" for r in ratings) == 40  # + real CT ratings copied for the 2nd preset
    truth = {i.token: i.truth_code for i in study.items.all()}
    assert all(int(r["truth"]) == truth[r["item"]] for r in ratings)
    assert {r["modality"] for r in ratings if r["task"] == tasks[0]} == {"demo-phantom", "report2ct-small"}

    # no identity anywhere by default
    for fmt, body in {**files, "xlsx": xlsx_text.encode()}.items():
        if fmt != "pdf":
            assert_no_reader_names(body, fmt)


def test_report_needs_the_study_admin_role(open_study, reader_a, reader_b, admin):
    rate(Assignment.objects.get(study=open_study, reader=reader_a), reader_a)
    for fmt in ("html", "json"):
        assert login(reader_a).get(ui_url(open_study, fmt)).status_code == 403
        assert api_client(reader_a).get(api_url(open_study, fmt)).status_code == 403
    assert api_client(reader_b).get(reverse("api:turing_api:study_plan", args=[open_study.pk])).status_code == 403
    anonymous = Client().get(ui_url(open_study, "html"))
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    assert APIClient().get(api_url(open_study, "html")).status_code in (401, 403)
    assert api_client(admin).get(reverse("api:turing_api:study_report", args=[999999])).status_code == 404


def test_bad_format_or_reader_names_is_a_400_with_the_allowed_list(open_study, reader_a, admin):
    rate(Assignment.objects.get(study=open_study, reader=reader_a), reader_a)
    response = api_client(admin).get(api_url(open_study, "docx"))
    assert response.status_code == 400
    body = response.json()
    assert body["allowed"] == list(FORMATS) and "html, pdf, csv, json, xlsx" in body["detail"]
    assert api_client(admin).get(api_url(open_study, "html", reader_names="maybe")).status_code == 400
    page = login(admin).get(ui_url(open_study, "exe"))
    assert page.status_code == 400 and b"html, pdf, csv, json, xlsx" in page.content
    assert login(admin).get(ui_url(open_study, "html", reader_names="maybe")).status_code == 400


def test_no_ratings_is_a_409_with_a_message_never_a_500(open_study, admin, reader_a):
    ui, api = login(admin), api_client(admin)
    dashboard = ui.get(reverse("turing_test:study_dashboard", args=[open_study.pk])).content.decode()
    assert 'data-testid="report-unavailable"' in dashboard and 'data-testid="report-html"' not in dashboard
    for fmt in FORMATS:
        response = api.get(api_url(open_study, fmt))
        assert response.status_code == 409 and "No ratings yet" in response.json()["detail"], fmt
    page = ui.get(ui_url(open_study, "pdf"))
    assert page.status_code == 409 and b"No ratings yet" in page.content
    # only practice answered: still nothing to analyse
    a = Assignment.objects.get(study=open_study, reader=reader_a)
    rate(a, reader_a, n=1)
    assert a.entries.order_by("position").first().is_practice
    assert api.get(api_url(open_study, "json")).status_code == 409


def test_draft_study_has_no_report(media, admin, tmp_path):
    from tests.turing_test.conftest import build_small_study

    draft = build_small_study(tmp_path / "draft", admin)
    response = api_client(admin).get(api_url(draft, "html"))
    assert response.status_code == 409 and "not been opened" in response.json()["detail"]
    assert "Open the study first" in login(admin).get(reverse("turing_test:study_dashboard", args=[draft.pk])).content.decode()


def test_open_study_gives_a_preliminary_report_with_the_dashboard_pseudonyms(open_study, reader_a, reader_b, admin):
    # only rob (R02) has answered: the report keeps his study pseudonym, as the dashboard shows it
    b = Assignment.objects.get(study=open_study, reader=reader_b)
    assert b.pseudonym == "R02"
    rate(b, reader_b, score=lambda e: 5 if e.item.truth == "real" else 1)
    ui = login(admin)
    dashboard = ui.get(reverse("turing_test:study_dashboard", args=[open_study.pk])).content.decode()
    assert 'data-testid="report-preliminary"' in dashboard and 'data-testid="report-html"' in dashboard
    response = ui.get(ui_url(open_study, "html"))
    assert response.status_code == 200 and response["X-RadSynth-Report"] == "preliminary"
    assert "preliminary" in response["Content-Disposition"]
    assert "PRELIMINARY" in response.content.decode() and "0 of 2 readers submitted" in response.content.decode()
    results = json.loads(ui.get(ui_url(open_study, "json")).content)
    assert results["study"]["preliminary"] is True and results["n_readers"] == 1
    task = results["tasks"][0]
    assert set(results["per_task"][task]["per_reader_auc"]) == {"R02"}
    assert results["per_task"][task]["icc"] is None  # one reader: agreement undefined, with a reason
    assert results["per_task"][task]["notes"]
    assert ui.get(ui_url(open_study, "pdf")).content[:5] == b"%PDF-"
    assert ui.get(ui_url(open_study, "xlsx")).status_code == 200


def test_a_single_rating_still_gives_a_report(open_study, reader_a, admin):
    """Degenerate data (one rating of one class) is analysed with reasons, never a 500."""
    a = Assignment.objects.get(study=open_study, reader=reader_a)
    entries = list(a.entries.order_by("position"))
    rate(a, reader_a, n=2)  # the practice item, then the first rated item
    assert not entries[1].is_practice
    api = api_client(admin)
    for fmt in FORMATS:
        assert api.get(api_url(open_study, fmt)).status_code == 200, fmt
    assert api.get(api_url(open_study, "json")).json()["n_ratings"] == 1
    assert login(admin).get(ui_url(open_study)).content.startswith(b"<!DOCTYPE html>")  # HTML is the default


def check_reader_names_only_when_asked(study, admin):
    ui = login(admin)
    html = ui.get(ui_url(study, "html", reader_names=1)).content.decode()
    assert "rita" in html and "rob" in html and "(pseudonymised)" not in html
    named = json.loads(ui.get(ui_url(study, "json", reader_names="on")).content)
    assert named["readers_pseudonymised"] is False
    assert set(named["per_task"][named["tasks"][0]]["per_reader_auc"]) == {"rita", "rob"}
    rows = list(csv.DictReader(io.StringIO(ui.get(ui_url(study, "ratings", reader_names="true")).content.decode())))
    assert {r["reader"] for r in rows} == {"rita", "rob"}


def check_api_downloads(study, admin):
    api = api_client(admin)
    files = {}
    for fmt in FORMATS:
        response = api.get(api_url(study, fmt, reader_names=0))
        assert response.status_code == 200, (fmt, response.content[:300])
        assert response["Content-Type"] == REPORT_FORMATS[fmt].content_type
        files[fmt] = response.content
        if fmt != "pdf":
            assert_no_reader_names(response.content, fmt)
    html = check_html(files["html"], study)
    assert "(pseudonymised)" in html
    assert files["pdf"][:5] == b"%PDF-"
    assert "Table 7" in openpyxl.load_workbook(io.BytesIO(files["xlsx"]), read_only=True).sheetnames
    doc = json.loads(files["json"])
    assert all(key in doc["per_task"][task] for task in doc["tasks"] for key in AGREEMENT_KEYS)
    assert {r["section"] for r in csv.DictReader(io.StringIO(files["csv"].decode()))} >= {"agreement", "discrimination"}
    assert {r["reader"] for r in csv.DictReader(io.StringIO(files["ratings"].decode()))} == {"R01", "R02"}
    named = api.get(api_url(study, "json", reader_names=1)).json()
    assert named["readers_pseudonymised"] is False and "rita" in json.dumps(named)


def check_rating_table(study):
    table = selectors.study_rating_table(study=study)
    assert list(table.columns) == list(selectors.REPORT_TABLE_COLUMNS)
    original = table[table["replicated"] == 0]
    assert len(original) == 40 and set(original["reader"]) == {"R01", "R02"}
    items = {i.token: i for i in study.items.all()}
    for row in original.itertuples():
        item = items[row.item]
        assert row.truth == (1 if item.truth == "real" else 0)
        assert row.task == selectors.task_report_label(item.task)
        if item.truth == "synthetic":
            assert row.modality == (item.generator or "synthetic")
        assert row.forced_choice in ("real", "synthetic") and row.confidence == 4
    named = selectors.study_rating_table(study=study, reader_names=True)
    assert set(named["reader"]) == {"rita", "rob"}
