"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright.

Locally a missing browser skips with a message; in CI (CI=true) it fails, never skips silently.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

CHROMIUM = os.environ.get("RADSYNTH_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts"
# Flags from shared/notes/viewer-facts.md: SwiftShader WebGL2, no network side traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_chromium() -> str:
    if Path(CHROMIUM).is_file() or shutil.which(CHROMIUM):
        return CHROMIUM
    message = f"Chromium not found at {CHROMIUM}: install Debian's chromium package (make system-deps)"
    if in_ci():
        pytest.fail(f"{message}; CI must run the browser tests")
    pytest.skip(message)


def launch(playwright, extra_args: list[str] | None = None):
    """A persistent context in a fresh empty profile directory (removed by the caller)."""
    profile = tempfile.mkdtemp(prefix="radsynth-chromium-")
    context = playwright.chromium.launch_persistent_context(
        profile,
        executable_path=require_chromium(),
        headless=True,
        args=CHROMIUM_ARGS + (extra_args or []),
        viewport={"width": 1440, "height": 860},
    )
    return context, profile


def canvas_image(page, name: str) -> np.ndarray:
    """Grey levels of a viewport's canvas (what Cornerstone drew, without the DOM overlays)."""
    url = page.evaluate("(n) => window.radsynthViewer.getViewportCanvases()[n].toDataURL('image/png')", name)
    data = __import__("base64").b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)


def save_screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path), full_page=False)
    return path


def login_cookie(live_server, user) -> dict:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    host = live_server.url.split("//", 1)[1].split(":")[0]
    return {"name": settings.SESSION_COOKIE_NAME, "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
            "domain": host, "path": "/"}
