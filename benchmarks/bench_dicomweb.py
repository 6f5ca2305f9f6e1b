"""DICOMweb and viewer benchmark: RadSynth's /dicomweb/ against Orthanc + its DICOMweb plugin.

The same 512×512×256 CT series (Explicit VR Little Endian, int16) is indexed by Django and uploaded
to Orthanc; both run on loopback in the same run. Measured:

- browser: the RadSynth CT viewer page in headless Chromium, pointed at each DICOMweb root, from
  navigation start to the first rendered image and to the fully loaded volume (median of --runs,
  a fresh browser profile each run so nothing comes from cache);
- WADO-RS frames/s: every frame of the series fetched with Python `requests`, 1 and 4 clients.

Ratio = RadSynth / Orthanc time (≤ 1.0: no slower than Orthanc) and Orthanc / RadSynth throughput.

Set-up (Debian, as root): apt-get install orthanc orthanc-dicomweb chromium; make viewer.
Run: OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_dicomweb.py [--runs 3] [--json FILE]
Django runs under gunicorn (2 gthread workers × 4 threads) on a throw-away SQLite database; Orthanc
with its defaults (HTTP threads 50) and the plugin's default metadata mode. Chromium loads the
RadSynth page for both; for Orthanc the page's data-dicomweb-root is rewritten in flight and
Chromium runs with --disable-web-security (cross-origin fetches), for both servers alike.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from webapp.dicom.codec import write_ct_series  # noqa: E402  (no Django: plain pydicom)

ORTHANC = shutil.which("Orthanc") or "/usr/sbin/Orthanc"
ORTHANC_PLUGINS = "/usr/share/orthanc/plugins"
CHROMIUM = os.environ.get("RADSYNTH_CHROMIUM", "/usr/bin/chromium")
PYTHON = str(REPO / ".venv" / "bin" / "python")
GUNICORN = str(REPO / ".venv" / "bin" / "gunicorn")
ACCEPT_FRAMES = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60, **kwargs) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2, **kwargs).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def phantom(size: int, slices: int) -> np.ndarray:
    """A chest-like phantom: body ellipse, lungs, spine; smooth noise so frames differ."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[-1 : 1 : size * 1j, -1 : 1 : size * 1j]
    body = (x / 0.9) ** 2 + (y / 0.7) ** 2 <= 1
    lungs = (((x - 0.4) / 0.3) ** 2 + (y / 0.45) ** 2 <= 1) | (((x + 0.4) / 0.3) ** 2 + (y / 0.45) ** 2 <= 1)
    spine = (x / 0.08) ** 2 + ((y - 0.5) / 0.08) ** 2 <= 1
    base = np.where(body, 40.0, -1000.0)
    base[lungs] = -850
    base[spine] = 700
    volume = np.empty((slices, size, size), dtype=np.float32)
    for k in range(slices):
        volume[k] = base + rng.normal(0, 12, (size, size)).astype(np.float32)
    return volume


# ---- servers -------------------------------------------------------------------------------------


def django_env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=f"sqlite:///{work / 'bench.sqlite3'}",
        MEDIA_ROOT=str(work / "media"),
        STATIC_ROOT=str(work / "static"),
        DEBUG="false",
        RADSYNTH_ENV="development",
        DJANGO_SETTINGS_MODULE="webapp.settings",
        PYTHONPATH=str(REPO),
    )
    return env


SETUP_SNIPPET = """
import json, sys
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from webapp.dicom.services import study_import
user = get_user_model().objects.create_user("bench", password="bench-pw-123", is_superuser=False)
study = study_import(paths_or_zip=sys.argv[1], owner=user)
s = SessionStore()
s["_auth_user_id"] = str(user.pk)
s["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
s["_auth_user_hash"] = user.get_session_auth_hash()
s.create()
print(json.dumps({"study": study.study_instance_uid, "series": study.series.get().series_instance_uid, "session": s.session_key}))
"""


def start_django(work: Path, series_dir: Path, servers: list[subprocess.Popen]) -> tuple[str, dict]:
    env = django_env(work)
    manage = [PYTHON, str(REPO / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v", "0"], env=env, check=True, cwd=REPO)
    subprocess.run([*manage, "collectstatic", "--noinput", "-v", "0"], env=env, check=True, cwd=REPO)
    script = work / "setup_bench.py"
    script.write_text("import django; django.setup()\n" + SETUP_SNIPPET)
    out = subprocess.run([PYTHON, str(script), str(series_dir)], env=env, check=True, cwd=REPO, capture_output=True, text=True)
    info = json.loads(out.stdout.strip().splitlines()[-1])
    port = free_port()
    server = subprocess.Popen(
        [GUNICORN, "webapp.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "2", "-k", "gthread",
         "--threads", "4", "--log-level", "warning"],
        env=env, cwd=REPO,
    )
    servers.append(server)  # stopped by the caller even if it never comes up
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/accounts/login/")
    return base, info


def start_orthanc(work: Path, files: list[Path], servers: list[subprocess.Popen]) -> str:
    port = free_port()
    config = {
        "Name": "bench",
        "StorageDirectory": str(work / "orthanc-db"),
        "IndexDirectory": str(work / "orthanc-db"),
        "HttpPort": port,
        "DicomServerEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [ORTHANC_PLUGINS],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": True, "Host": f"127.0.0.1:{port}"},
    }
    (work / "orthanc.json").write_text(json.dumps(config))
    log = open(work / "orthanc.log", "w")  # noqa: SIM115  (closed with the process)
    server = subprocess.Popen([ORTHANC, str(work / "orthanc.json")], stdout=log, stderr=subprocess.STDOUT)
    servers.append(server)
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/system")
    with requests.Session() as session:
        for path in files:
            session.post(f"{base}/instances", data=path.read_bytes(), timeout=60).raise_for_status()
    return base


# ---- measurements --------------------------------------------------------------------------------


def frame_urls(root: str, study: str, series: str, session: requests.Session) -> list[str]:
    listing = session.get(f"{root}studies/{study}/series/{series}/instances", timeout=60,
                          headers={"Accept": "application/dicom+json"})
    listing.raise_for_status()
    sops = [item["00080018"]["Value"][0] for item in listing.json()]
    return [f"{root}studies/{study}/series/{series}/instances/{sop}/frames/1" for sop in sops]


def frames_per_second(urls: list[str], make_session, clients: int) -> float:
    sessions = [make_session() for _ in range(clients)]

    def fetch(index: int) -> int:
        response = sessions[index % clients].get(urls[index], headers={"Accept": ACCEPT_FRAMES}, timeout=60)
        response.raise_for_status()
        return len(response.content)

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        sizes = list(pool.map(fetch, range(len(urls))))
    elapsed = time.perf_counter() - start
    assert min(sizes) > 0
    return len(urls) / elapsed


def browser_runs(
    page_url: str, session_key: str, host: str, runs: int, orthanc_root: str | None, screenshot: Path | None = None
) -> list[dict]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        for _ in range(runs):
            profile = tempfile.mkdtemp(prefix="bench-chromium-")
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, headless=True, viewport={"width": 1440, "height": 860},
                args=["--no-sandbox", "--disable-gpu", "--enable-unsafe-swiftshader", "--use-angle=swiftshader",
                      "--disable-quic", "--no-first-run", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--disable-web-security"],
            )
            context.add_cookies([{"name": "sessionid", "value": session_key, "domain": host, "path": "/"}])
            page = context.new_page()
            if orthanc_root:
                def rewrite(route, request=None):
                    response = route.fetch()
                    body = response.text().replace(
                        'data-dicomweb-root="/dicomweb/"', f'data-dicomweb-root="{orthanc_root}" data-credentials="omit"'
                    )
                    route.fulfill(response=response, body=body)
                page.route("**/viewer/*/", rewrite)
            page.goto(page_url)
            page.wait_for_function("window.radsynthViewer && document.querySelector('.rs-viewer').dataset.state !== 'loading'", timeout=300_000)
            state = page.evaluate("document.querySelector('.rs-viewer').dataset.state")
            if state != "ready":
                raise RuntimeError(f"viewer failed: {page.evaluate('window.radsynthViewer.error')}")
            timings = page.evaluate("window.radsynthViewer.timings")
            if screenshot is not None:
                screenshot.parent.mkdir(exist_ok=True)
                page.screenshot(path=str(screenshot))
            results.append({k: round(v / 1000, 3) for k, v in timings.items()})
            context.close()
            shutil.rmtree(profile, ignore_errors=True)
    return results


def median(rows: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--slices", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    for tool in (ORTHANC, CHROMIUM):
        if not Path(tool).exists():
            sys.exit(f"{tool} is missing: apt-get install orthanc orthanc-dicomweb chromium")
    work = Path(tempfile.mkdtemp(prefix="bench-dicomweb-"))
    servers: list[subprocess.Popen] = []
    try:
        series_dir = work / "series"
        written = write_ct_series(phantom(args.size, args.slices), (1.0, 0.7, 0.7), series_dir, synthetic=True)
        django_base, info = start_django(work, series_dir, servers)
        orthanc_base = start_orthanc(work, written.paths, servers)
        roots = {"radsynth": f"{django_base}/dicomweb/", "orthanc": f"{orthanc_base}/dicom-web/"}

        def django_session() -> requests.Session:
            s = requests.Session()
            s.cookies.set("sessionid", info["session"], domain="127.0.0.1")
            return s

        makers = {"radsynth": django_session, "orthanc": requests.Session}
        urls = {name: frame_urls(root, info["study"], info["series"], makers[name]()) for name, root in roots.items()}
        fps: dict[str, dict[str, float]] = {}
        for name in roots:  # warm-up (file cache, connection set-up), then measure
            frames_per_second(urls[name][:32], makers[name], 4)
        for clients in (1, 4):
            for name in roots:
                fps.setdefault(name, {})[str(clients)] = round(max(frames_per_second(urls[name], makers[name], clients) for _ in range(2)), 1)
        page = f"{django_base}/viewer/{info['study']}/"
        browser: dict[str, list[dict]] = {"radsynth": [], "orthanc": []}
        for _ in range(args.runs):  # alternate so drift hits both alike
            shot = REPO / "test-artifacts" / "bench-ct-viewer.png"
            browser["radsynth"] += browser_runs(page, info["session"], "127.0.0.1", 1, None, shot)
            browser["orthanc"] += browser_runs(page, info["session"], "127.0.0.1", 1, roots["orthanc"])
        summary = {
            name: {"first_image_s": median(rows, "firstImage"), "full_volume_s": median(rows, "ready"),
                   "viewer_start_s": median(rows, "start"), "metadata_s": median(rows, "metadata"),
                   "first_image_after_start_s": round(median(rows, "firstImage") - median(rows, "start"), 3),
                   "full_volume_after_start_s": round(median(rows, "ready") - median(rows, "start"), 3),
                   "runs": rows}
            for name, rows in browser.items()
        }
        result = {
            "series": f"{args.size}x{args.size}x{args.slices} CT, int16, Explicit VR LE, {len(written.paths)} instances",
            "machine": f"{platform.node()} {os.cpu_count()} CPU cores, {platform.platform()}",
            "date": time.strftime("%Y-%m-%d"),
            "browser": summary,
            "frames_per_s": fps,
            "ratio_time_radsynth_over_orthanc": {
                "first_image": round(summary["radsynth"]["first_image_s"] / summary["orthanc"]["first_image_s"], 2),
                "full_volume": round(summary["radsynth"]["full_volume_s"] / summary["orthanc"]["full_volume_s"], 2),
                "frames_1_client": round(fps["orthanc"]["1"] / fps["radsynth"]["1"], 2),
                "frames_4_clients": round(fps["orthanc"]["4"] / fps["radsynth"]["4"], 2),
            },
        }
        print(json.dumps(result, indent=2))
        if args.json:
            args.json.write_text(json.dumps(result, indent=2))
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
