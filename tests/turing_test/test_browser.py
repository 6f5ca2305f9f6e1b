"""A reader rates the 20-item study in headless Chromium with the keyboard, leaves, resumes on a
"new device" exactly where they were, submits, and sees the thank-you page. Screenshots of the
reader and admin pages go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("RADSYNTH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "turing_test"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
    "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def require_chromium() -> str:
    if Path(CHROMIUM).is_file() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM}: install Debian's chromium (make system-deps)"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message}; CI must run the browser tests")
    pytest.skip(message)


@pytest.fixture
def playwright(monkeypatch):
    require_chromium()
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop here
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


class Device:
    """One browser profile = one device; closing it forgets everything on the client."""

    def __init__(self, pw, live_server, user):
        self.profile = tempfile.mkdtemp(prefix="vtt-chromium-")
        self.context = pw.chromium.launch_persistent_context(
            self.profile, executable_path=require_chromium(), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 900},
        )
        self.page = self.context.new_page()
        self.log: list[str] = []
        self.page.on("console", lambda m: self.log.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.log.append(f"pageerror: {e}"))
        self.base = live_server.url
        self.login(user)

    def login(self, user):
        from django.conf import settings
        from django.test import Client

        client = Client()
        client.force_login(user)
        host = self.base.split("//", 1)[1].split(":")[0]
        self.context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value, "domain": host, "path": "/"}]
        )

    def shot(self, name: str):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / name))

    def close(self):
        self.context.close()
        shutil.rmtree(self.profile, ignore_errors=True)


def wait_viewer(page, timeout=90_000) -> str:
    page.wait_for_function(
        "document.querySelector('.rs-viewer') && document.querySelector('.rs-viewer').dataset.state !== 'loading'", timeout=timeout
    )
    return page.evaluate("document.querySelector('.rs-viewer').dataset.state")


def wait_saved(page):
    page.wait_for_function("document.getElementById('vtt-save').dataset.state === 'saved'", timeout=20_000)


def rate_with_key(device, n: int, seen_layouts: set) -> None:
    """Press the score key; on the first item of each layout also check the viewer and take a screenshot."""
    page = device.page
    page.wait_for_selector("#vtt-read[data-ready='1']")
    layout = page.get_attribute("#vtt-read", "data-layout")
    key = str((n % 5) + 1)
    if layout not in seen_layouts and layout != "report":
        assert wait_viewer(page) == "ready", "\n".join(device.log[-20:])
        before = page.evaluate("window.radsynthViewer.getPreset()")
        page.keyboard.press(key)
        # the rating key did not also switch the viewer's window preset
        assert page.evaluate("window.radsynthViewer.getPreset()") == before
    else:
        page.keyboard.press(key)
    wait_saved(page)
    assert page.get_attribute(f"[data-testid=score-{key}]", "aria-checked") == "true"
    if layout not in seen_layouts:
        seen_layouts.add(layout)
        device.shot(f"reader-{layout}.png")


def test_reader_keyboard_flow_with_leave_and_resume(live_server, playwright, media, admin, reader_a, tmp_path, inline_tasks, settings):
    from tests.turing_test.conftest import build_vtt20
    from turing_test import services
    from turing_test.models import Assignment, Rating

    study = build_vtt20(tmp_path / "cases", admin)
    services.reader_assign(study=study, reader=reader_a, actor=admin)
    inline_tasks(services.study_open, study=study, actor=admin)
    study.refresh_from_db()
    assert study.status == "open", study.preparation_error
    assignment = Assignment.objects.get(study=study, reader=reader_a)
    entries = list(assignment.entries.order_by("position").select_related("item"))
    total = len(entries)
    half = total // 2

    device = Device(playwright, live_server, reader_a)
    page = device.page
    try:
        page.goto(f"{live_server.url}/studies/mine/")
        page.get_by_role("link", name="Start").click()
        seen_layouts: set[str] = set()
        for n in range(half):
            page.wait_for_selector("#vtt-read[data-ready='1']")
            assert page.get_by_test_id("position").inner_text() == f"Item {n + 1} of {total}"
            rate_with_key(device, n, seen_layouts)
            page.keyboard.press("ArrowRight")
            page.wait_for_url(f"**/{entries[n + 1].item.token}/")
        # leave: this device is gone for good (closed mid-study, nothing kept on the client)
        assert Rating.objects.filter(assignment=assignment, score__isnull=False).count() == half
    finally:
        device.close()

    # another device: resume lands exactly on the item the reader had reached
    device = Device(playwright, live_server, reader_a)
    page = device.page
    try:
        page.goto(f"{live_server.url}/studies/mine/")
        device.shot("reader-assignments.png")
        page.get_by_role("link", name="Resume").click()
        page.wait_for_url(f"**/{entries[half].item.token}/")
        page.wait_for_selector("#vtt-read[data-ready='1']")
        assert page.get_by_test_id("answered").inner_text() == str(half)
        # back one item with the keyboard: the earlier answer is still there; change it
        page.keyboard.press("ArrowLeft")
        page.wait_for_url(f"**/{entries[half - 1].item.token}/")
        page.wait_for_selector("#vtt-read[data-ready='1']")
        assert page.get_attribute(f"[data-testid=score-{((half - 1) % 5) + 1}]", "aria-checked") == "true"
        page.keyboard.press("5")
        wait_saved(page)
        page.keyboard.press("ArrowRight")
        page.wait_for_url(f"**/{entries[half].item.token}/")
        # Next is refused until the item is answered
        page.wait_for_selector("#vtt-read[data-ready='1']")
        page.keyboard.press("ArrowRight")
        assert page.locator("#vtt-error").inner_text().startswith("Give a score")
        # the server is unreachable for a moment: the answer waits in the browser, then goes through
        page.route("**/rating/", lambda route: route.abort())
        page.keyboard.press("3")
        page.wait_for_function("document.getElementById('vtt-save').dataset.state === 'offline'", timeout=10_000)
        assert not Rating.objects.filter(assignment=assignment, item=entries[half].item, score__isnull=False).exists()
        device.shot("reader-offline.png")
        page.unroute("**/rating/")
        wait_saved(page)
        assert Rating.objects.get(assignment=assignment, item=entries[half].item).score == 3
        for n in range(half, total):
            rate_with_key(device, n, seen_layouts)
            page.keyboard.press("Enter")
            if n + 1 < total:
                page.wait_for_url(f"**/{entries[n + 1].item.token}/")
        page.wait_for_url("**/finish/")
        assert page.get_by_test_id("finish-summary").inner_text() == f"You have answered {total} of {total} items."
        device.shot("reader-finish.png")
        page.get_by_test_id("submit").click()
        page.wait_for_url("**/thanks/")
        assert page.get_by_test_id("thanks").is_visible()
        device.shot("reader-thanks.png")
    finally:
        device.close()

    assignment.refresh_from_db()
    assert assignment.status == "submitted"
    ratings = Rating.objects.filter(assignment=assignment, score__isnull=False)
    assert ratings.count() == total
    changed = ratings.get(item=entries[half - 1].item)
    assert changed.score == 5 and changed.revision >= 2
    assert all(r.client_ms > 0 and r.server_ms >= 0 for r in ratings)
    assert {"mpr", "mpr+report", "cxr-1", "cxr-2", "cxr-2+report", "report"} <= seen_layouts

    # admin pages, for the record
    device = Device(playwright, live_server, admin)
    try:
        for name, path in [
            ("admin-builder.png", f"/studies/{study.pk}/"),
            ("admin-dashboard.png", f"/studies/{study.pk}/dashboard/"),
            ("admin-preview.png", f"/studies/{study.pk}/preview/2/"),
        ]:
            device.page.goto(f"{live_server.url}{path}")
            device.page.wait_for_load_state("networkidle")
            device.shot(name)
        device.page.goto(f"{live_server.url}/studies/{study.pk}/")
        device.page.screenshot(path=str(ARTIFACTS / "admin-builder-full.png"), full_page=True)
    finally:
        device.close()
