"""Shared fixtures: demo accounts per role and a real Celery worker process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def role_user(django_user_model):
    """Factory: a user holding the given roles (password 'pw')."""
    from webapp.core.services import user_create_with_roles

    def make(username: str, *roles: str):
        return user_create_with_roles(username=username, password="pw", roles=tuple(roles))

    return make


def _database_url_for_worker() -> str:
    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or "postgres"
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{params['NAME']}"


@pytest.fixture(scope="session")
def untrained_weights_dir(tmp_path_factory):
    """Random-initialised weights for the demo preset: real networks, real files, meaningless output.

    The job system's plumbing is tested with these so those tests do not depend on training; the
    shipped trained weights have tests of their own.
    """
    import torch

    from generation.networks import build_autoencoder, build_unet
    from generation.registry import load_preset
    from generation.weights_io import save_weights

    preset = load_preset("demo")
    root = tmp_path_factory.mktemp("weights")
    target = root / "demo"
    target.mkdir()
    torch.manual_seed(0)
    dims = preset.spatial_dims
    save_weights(build_autoencoder(preset.section("autoencoder"), dims), target / preset.data["files"]["autoencoder"])
    save_weights(build_unet(preset.section("unet"), dims), target / preset.data["files"]["unet"])
    space = preset.section("conditioning").get("report_space") or {}
    if space.get("file"):  # the demo model's own report head, untrained like the rest
        from generation.phantom.facts import FACT_NAMES
        from generation.text.report_space import ReportHead

        width = int(preset.data["text_encoders"][0]["hidden_size"])
        save_weights(ReportHead.from_config(space, FACT_NAMES, width), target / space["file"])
    # CXR jobs are cheap enough to run on the real shipped cxr-demo weights (no untrained copy).
    from generation.registry import DEFAULT_WEIGHTS_DIR

    shipped_cxr = DEFAULT_WEIGHTS_DIR / "cxr-demo"
    if shipped_cxr.is_dir():
        (root / "cxr-demo").symlink_to(shipped_cxr.resolve(), target_is_directory=True)
    return root


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, tmp_path_factory, untrained_weights_dir):
    """A separate `celery worker` process on the test database and the test broker.

    Tests that use it must commit their rows (`transactional_db`) so the worker can see them.
    """
    from webapp.celery import app
    from webapp.core.worker import clear_stale_broadcasts, worker_command

    with django_db_blocker.unblock():
        database_url = _database_url_for_worker()
    clear_stale_broadcasts()
    app.control.purge()
    name = f"test-{uuid.uuid4().hex[:8]}@%h"
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "RADSYNTH_ENV": "test",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": app.conf.broker_url,
        "OMP_NUM_THREADS": "1",
        "RADSYNTH_WEIGHTS_DIR": str(untrained_weights_dir),
    }
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(worker_command(name=name), cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    hostname = name.replace("%h", os.uname().nodename)
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{log_path.read_text()[-4000:]}")
            replies = app.control.ping(destination=[hostname], timeout=1.0) or []
            if replies:
                break
        else:
            raise RuntimeError(f"worker did not answer in 90 s:\n{log_path.read_text()[-4000:]}")
        yield {"process": proc, "hostname": hostname, "log": log_path, "database_url": database_url}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        print(f"worker log: {log_path}", file=sys.stderr)
