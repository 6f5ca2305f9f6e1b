"""The viewer in headless Chromium: three planes render, tools change the picture, orientation is right."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from browser_support import canvas_image, launch, login_cookie, require_chromium, save_screenshot
from dicom_fixtures import MARKERS_LPS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWS = ("axial", "coronal", "sagittal")


@pytest.fixture
def browser_page(live_server, monkeypatch):
    require_chromium()
    # Playwright's sync API keeps an event loop in this thread; the ORM calls made by fixtures
    # and the live server are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context, profile = launch(playwright)
        page = context.new_page()
        page.console_messages = []
        page.on("console", lambda m: page.console_messages.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: page.console_messages.append(f"pageerror: {e}"))
        try:
            yield context, page
        finally:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


def open_viewer(live_server, context, page, user, study):
    context.add_cookies([login_cookie(live_server, user)])
    page.goto(f"{live_server.url}/viewer/{study.study_instance_uid}/")
    try:
        page.wait_for_function("window.radsynthViewer && document.querySelector('.rs-viewer').dataset.state !== 'loading'", timeout=90_000)
    finally:
        state = page.evaluate("document.querySelector('.rs-viewer')?.dataset.state")
        assert state == "ready", "\n".join(page.console_messages[-30:])


def bright_centroid(image: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(image > 245)
    assert len(xs) > 4, "marker not visible"
    return np.array([xs.mean(), ys.mean()])


def body_centroid(image: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero((image > 60) & (image < 200))
    return np.array([xs.mean(), ys.mean()])


def test_ct_viewer_three_planes_tools_and_orientation(live_server, browser_page, ct_study, owner):
    context, page = browser_page
    open_viewer(live_server, context, page, owner, ct_study)
    timings = page.evaluate("window.radsynthViewer.timings")
    assert timings["firstImage"] <= timings["ready"]

    # Three non-blank planes.
    images = {name: canvas_image(page, name) for name in VIEWS}
    for name, image in images.items():
        assert image.std() > 10 and image.max() > 100, f"{name} viewport looks blank"
    save_screenshot(page, "ct-viewer.png")

    # Orientation letters from the camera: radiological convention.
    letters = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.rs-vp')].map(b => [b.dataset.viewport,
             Object.fromEntries(['top','bottom','left','right'].map(s => [s, b.querySelector('.rs-orient-' + s).textContent]))]))"""
    )
    assert letters["axial"] == {"top": "A", "bottom": "P", "left": "R", "right": "L"}
    assert letters["coronal"] == {"top": "S", "bottom": "I", "left": "R", "right": "L"}
    assert letters["sagittal"]["top"] == "S" and letters["sagittal"]["bottom"] == "I"

    # Markers at known patient positions land on the expected sides of the rendered images.
    seen = {}
    for marker, position in MARKERS_LPS.items():
        page.evaluate("(p) => window.radsynthViewer.jumpToWorld(p)", list(position))
        page.wait_for_timeout(400)
        seen[marker] = {}
        for name in VIEWS:
            image = canvas_image(page, name)
            seen[marker][name] = bright_centroid(image) - body_centroid(image)  # (right, down) in pixels
    assert seen["left"]["axial"][0] > 20, "patient left must be on the image right (axial)"
    assert seen["left"]["coronal"][0] > 20, "patient left must be on the image right (coronal)"
    assert seen["anterior"]["axial"][1] < -20, "anterior must be up (axial)"
    assert seen["superior"]["coronal"][1] < -20, "superior must be up (coronal)"
    assert seen["superior"]["sagittal"][1] < -20, "superior must be up (sagittal)"
    assert seen["left"]["coronal"][1] > 20 and seen["left"]["sagittal"][1] > 20, "inferior marker must be down"
    page.evaluate("(p) => window.radsynthViewer.jumpToWorld(p)", list(MARKERS_LPS["left"]))
    page.wait_for_timeout(300)
    save_screenshot(page, "ct-viewer-left-marker.png")

    # A preset changes the picture.
    page.evaluate("window.radsynthViewer.reset()")
    page.wait_for_timeout(300)
    before = {name: canvas_image(page, name) for name in VIEWS}
    page.keyboard.press("1")  # lung window
    page.wait_for_timeout(300)
    assert page.evaluate("window.radsynthViewer.getPreset()") == "lung"
    after = canvas_image(page, "axial")
    assert np.abs(after - before["axial"]).mean() > 5
    assert "W 1500" in page.inner_text(".rs-vp[data-viewport=axial] .rs-bl")

    # Dragging the crosshairs in the axial view moves the coronal and sagittal slices.
    page.keyboard.press("3")
    page.wait_for_timeout(200)
    before = {name: canvas_image(page, name) for name in VIEWS}
    box = page.locator(".rs-vp[data-viewport=axial] .rs-vp-canvas").bounding_box()
    centre = page.evaluate("window.radsynthViewer.worldToCanvas('axial', window.radsynthViewer.getCamera('axial').focalPoint)")
    x0, y0 = box["x"] + centre[0], box["y"] + centre[1]
    page.mouse.move(x0, y0)
    page.mouse.down()
    for step in range(1, 11):
        page.mouse.move(x0 + 6 * step, y0 + 4 * step)
    page.mouse.up()
    page.wait_for_timeout(400)
    for name in ("coronal", "sagittal"):
        assert np.abs(canvas_image(page, name) - before[name]).mean() > 1, f"crosshairs did not move the {name} slice"
    save_screenshot(page, "ct-viewer-crosshairs.png")


def test_cxr_viewer_shows_frontal_and_lateral(live_server, browser_page, cxr_study, owner):
    context, page = browser_page
    open_viewer(live_server, context, page, owner, cxr_study)
    canvases = page.evaluate("Object.keys(window.radsynthViewer.getViewportCanvases())")
    assert len(canvases) == 2
    for name in canvases:
        image = canvas_image(page, name)
        assert image.std() > 5, f"{name} looks blank"
    labels = page.locator(".rs-plane").all_inner_texts()
    assert labels[0].startswith("Frontal") and labels[1].startswith("Lateral")
    assert page.inner_text(".rs-vp[data-viewport=view1] .rs-orient-right") == "L"
    assert page.inner_text(".rs-vp[data-viewport=view2] .rs-orient-left") == "A"
    save_screenshot(page, "cxr-viewer.png")
