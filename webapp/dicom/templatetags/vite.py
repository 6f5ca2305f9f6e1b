"""{% vite_asset 'static/viewer-src/ct-viewer.js' %}: script, CSS and preload tags from Vite's manifest.

The bundle is built by `make viewer` (npm ci && npm run build) into static/build/. The manifest is
re-read when its modification time changes, so a rebuild needs no server restart.
"""

from __future__ import annotations

import json
from pathlib import Path

from django import template
from django.conf import settings
from django.templatetags.static import static
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

MANIFEST = Path(settings.BASE_DIR) / "static" / "build" / ".vite" / "manifest.json"
BUILD_PREFIX = "build/"  # static/build/ is served as /static/build/
_cache: dict[str, object] = {"mtime": None, "data": {}}


def manifest() -> dict:
    try:
        mtime = MANIFEST.stat().st_mtime
    except FileNotFoundError:
        return {}
    if _cache["mtime"] != mtime:
        _cache["data"] = json.loads(MANIFEST.read_text())
        _cache["mtime"] = mtime
    return _cache["data"]  # type: ignore[return-value]


def _collect(data: dict, key: str, css: list[str], preload: list[str], seen: set[str]) -> None:
    if key in seen or key not in data:
        return
    seen.add(key)
    chunk = data[key]
    for name in chunk.get("css", []):
        if name not in css:
            css.append(name)
    for imported in chunk.get("imports", []):
        if imported in data and data[imported]["file"] not in preload:
            preload.append(data[imported]["file"])
        _collect(data, imported, css, preload, seen)


@register.simple_tag
def vite_asset(entry: str) -> SafeString:
    data = manifest()
    if entry not in data:
        # Visible on the page instead of a silent blank viewer.
        return format_html(
            '<script>document.addEventListener("DOMContentLoaded",()=>document.querySelectorAll(".rs-viewer")'
            '.forEach(n=>{{n.dataset.state="error";n.innerHTML="<p class=\\"rs-missing\\">The viewer bundle is not built '
            '({}). Run <code>make viewer</code>.</p>"}}))</script>',
            entry,
        )
    css: list[str] = []
    preload: list[str] = []
    _collect(data, entry, css, preload, set())
    links = format_html_join("", '<link rel="stylesheet" href="{}">', ((static(BUILD_PREFIX + c),) for c in css))
    preloads = format_html_join(
        "", '<link rel="modulepreload" href="{}">', ((static(BUILD_PREFIX + p),) for p in preload)
    )
    script = format_html('<script type="module" src="{}"></script>', static(BUILD_PREFIX + data[entry]["file"]))
    return mark_safe(links + preloads + script)
