"""Issue 7 "done when", in headless Chromium: on the dashboard of a closed study the admin opens the
HTML report in a new tab and downloads the other formats with the buttons (no JavaScript: one GET
form), with and without reader names. Screenshots go to test-artifacts/turing_test/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.turing_test import test_browser
from tests.turing_test.test_browser import ARTIFACTS, Device

playwright = test_browser.playwright  # the fixture: Playwright with Debian's Chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_exports_the_report_of_a_closed_study_from_the_dashboard(live_server, playwright, open_study, admin, reader_a, reader_b, settings):
    from turing_test import services
    from turing_test.models import Assignment

    settings.TURING_REPORT_BOOTSTRAP = 200
    for n, reader in enumerate((reader_a, reader_b)):
        a = Assignment.objects.get(study=open_study, reader=reader)
        for k, entry in enumerate(a.entries.select_related("item").order_by("position")):
            services.assignment_item_open(assignment=a, reader=reader, item_token=entry.item.token)
            score = (4 if entry.item.truth == "real" else 2) if n == 0 else 2 + k % 3
            services.rating_save(assignment=a, reader=reader, item_token=entry.item.token, request_id=str(k), score=score)
        services.assignment_submit(assignment=a, reader=reader)
    services.study_close(study=open_study, actor=admin)

    device = Device(playwright, live_server, admin)
    page = device.page
    try:
        page.goto(f"{live_server.url}/studies/{open_study.pk}/dashboard/")
        report = page.get_by_test_id("study-report")
        assert report.is_visible() and page.get_by_test_id("report-preliminary").count() == 0
        report.scroll_into_view_if_needed()
        device.shot("admin-dashboard-report.png")

        # HTML: a new tab with the report (Table 7 and figures)
        with device.context.expect_page() as new_tab:
            page.get_by_test_id("report-html").click()
        tab = new_tab.value
        tab.wait_for_load_state()
        assert "format=html" in tab.url
        assert tab.locator("h2", has_text="Summary (Table 7 layout)").is_visible()
        assert tab.locator("img[src^='data:image/png;base64,']").count() >= 3
        assert tab.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        assert "rita" not in tab.content()
        tab.screenshot(path=str(ARTIFACTS / "admin-report-html.png"))
        tab.screenshot(path=str(ARTIFACTS / "admin-report-html-full.png"), full_page=True)
        tab.close()

        # the other formats are downloads
        downloads = {}
        for fmt in ("pdf", "csv", "json", "xlsx", "ratings"):
            with page.expect_download() as download:
                page.get_by_test_id(f"report-{fmt}").click()
            downloads[fmt] = (download.value.suggested_filename, Path(download.value.path()).read_bytes())
        assert downloads["pdf"][0] == f"study-{open_study.pk}-report.pdf" and downloads["pdf"][1][:5] == b"%PDF-"
        assert downloads["xlsx"][1][:2] == b"PK"
        assert json.loads(downloads["json"][1])["readers_pseudonymised"] is True
        assert b"rita" not in downloads["ratings"][1]

        # with reader names
        page.get_by_test_id("reader-names").check()
        with page.expect_download() as download:
            page.get_by_test_id("report-ratings").click()
        assert download.value.suggested_filename.endswith("-named-ratings.csv")
        assert b"rita" in Path(download.value.path()).read_bytes()
    finally:
        device.close()
