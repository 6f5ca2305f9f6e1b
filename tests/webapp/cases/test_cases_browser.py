"""End to end in headless Chromium: educator saves a generation as a case, adds two variants,
publishes; a learner finds it by tag, takes the quiz and sees the reveal.

The generation itself is not run here (the job worker has its own test): the job's output and
the variants' outputs are stored the way the worker stores them, which also exercises the
attach-on-write path of the variants.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from webapp.cases.models import Case, CaseVariantJob

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SHAPE = (24, 64, 64)
DISCUSSION = "Fluid layers dependently; passive atelectasis of the adjacent lung."
POINT = "Supine CT shows pleural fluid posteriorly"


def require_chromium() -> None:
    if Path(CHROMIUM).is_file():
        return
    message = f"Chromium not found at {CHROMIUM}: install Debian's chromium package to run browser tests"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message}; CI must run them")
    pytest.skip(message)


@pytest.fixture
def browser(live_server, monkeypatch):
    require_chromium()
    # Playwright's sync API runs an event loop in this thread; the ORM calls stay synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="radsynth-cases-chromium-")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile, executable_path=CHROMIUM, headless=True, args=ARGS, viewport={"width": 1400, "height": 900},
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            yield page, errors
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def wait_for_viewer(page) -> str:
    page.wait_for_function(
        "() => { const v = document.querySelector('.rs-viewer'); return !v || v.dataset.state !== 'loading'; }",
        timeout=90_000,
    )
    return page.evaluate("document.querySelector('.rs-viewer')?.dataset.state || 'none'")


def test_educator_authors_and_publishes_learner_finds_quizzes_and_sees_reveal(
    browser, live_server, educator, learner, make_succeeded_job, make_output, monkeypatch
):
    page, errors = browser
    base = live_server.url
    queued = []
    # Variant jobs are queued to no broker here; their outputs are stored below as the worker would.
    monkeypatch.setattr("webapp.jobs.services.job_enqueue", lambda *, job: queued.append(job.pk))
    job = make_succeeded_job(educator, thumbnails=True, shape=SHAPE)

    # Educator: job page → Save as teaching case → write the case.
    log_in(page, base, educator.username)
    page.goto(f"{base}/jobs/{job.public_id}/")
    page.click("text=Save as teaching case")
    page.wait_for_url("**/edit/")
    page.fill("#id_title", "Large right pleural effusion")
    page.fill("#id_quiz_title", "Breathless adult")
    page.fill("#id_history", "Progressive dyspnoea for two weeks; dull right base.")
    page.fill("#id_diagnosis", "Large right pleural effusion")
    page.fill("#id_discussion", DISCUSSION)
    page.fill("#id_teaching_points", f"{POINT}\nLook for mediastinal shift")
    page.fill("#id_pathologies", "Pleural effusion")
    page.select_option("#id_difficulty", "beginner")
    page.select_option("#id_quiz_type", "multiple-choice")
    page.fill("#id_quiz_choices", "Pneumothorax\n*Pleural effusion\nNormal chest")
    page.click("button[name=save]")
    page.wait_for_selector("text=Case saved.")

    # Two variants with new seeds, in one action.
    page.select_option("[data-variants-form] select[name=kind]", "new-seed")
    page.fill("[data-variants-form] input[name=count]", "2")
    page.click("[data-variants-form] button")
    page.wait_for_selector("text=2 variant generation(s) queued")
    case = Case.objects.get(source_job=job)
    variant_jobs = [link.job for link in CaseVariantJob.objects.filter(case=case)]
    assert len(variant_jobs) == 2 and sorted(queued) == sorted(j.pk for j in variant_jobs)
    for variant in variant_jobs:
        make_output(variant, seed=variant.seed, thumbnails=True, shape=SHAPE)  # the worker's write
    page.reload()
    assert page.locator("[data-case-study]").count() == 3
    assert page.locator("[data-variant-jobs] .badge.succeeded").count() == 2
    shot(page, "cases-1-educator-edit.png")
    page.click("text=Publish to library")
    page.wait_for_selector("text=Published to the library.")
    case.refresh_from_db()
    assert case.visibility == "published"

    # Learner: library → tag → case → quiz → reveal.
    page.click("text=Log out")
    log_in(page, base, learner.username)
    page.goto(f"{base}/cases/")
    page.click("a.tagchip[data-tag=pleural-effusion]")
    page.wait_for_url("**tag=pleural-effusion")
    cards = page.locator("[data-case]")
    assert cards.count() == 1
    shot(page, "cases-2-library-by-tag.png")
    cards.first.click()
    page.wait_for_url(f"**/cases/{case.public_id}/")
    assert page.locator("[data-synthetic-label]").first.is_visible()
    assert page.locator("[data-answer-hidden]").is_visible()
    assert page.locator("text=Open in full viewer").count() == 0  # the full viewer shows the report
    viewer_state = wait_for_viewer(page)
    shot(page, "cases-3-learner-case.png")
    page.click(".toolbar >> text=Take the quiz")
    page.wait_for_url("**/quiz/")
    quiz_html = page.content()
    assert "dyspnoea" in quiz_html and "Synthetic image" in quiz_html
    for secret in ("Large right pleural effusion", DISCUSSION, POINT):
        assert secret not in quiz_html
    page.check("input[type=radio][value='1']")
    shot(page, "cases-4-quiz.png")
    page.click("text=Commit answer and reveal")
    page.wait_for_selector("[data-verdict=correct]")
    assert page.locator("[data-diagnosis]").inner_text() == "Large right pleural effusion"
    assert DISCUSSION in page.inner_text("[data-discussion]")
    assert POINT in page.inner_text("[data-teaching-points]")
    shot(page, "cases-5-reveal.png")
    page.click("text=My quiz history")
    assert "1 of 1 multiple-choice answers correct" in page.inner_text("main")
    assert viewer_state in ("ready", "none"), f"embedded viewer ended in {viewer_state}: {errors[-5:]}"
