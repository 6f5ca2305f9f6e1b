"""How RadSynth starts a Celery worker process (used by run_stack, the tests and docker)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.conf import settings

WORKER_NAME = "radsynth@%h"


def worker_command(*, queues: str = "gpu,cpu", beat: bool = False, name: str = WORKER_NAME) -> list[str]:
    cmd = [
        sys.executable, "-m", "celery", "-A", "webapp", "worker",
        "-Q", queues, "-n", name, "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
    ]
    if beat:
        beat_file = Path(settings.BASE_DIR) / "var" / "celerybeat-schedule"
        cmd += ["--beat", "--schedule", str(beat_file)]
    return cmd


def clear_stale_broadcasts() -> None:
    """Old broadcast files of the filesystem broker can tell a fresh worker to shut down at once."""
    options = getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {})
    folder = options.get("data_folder_in")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    Path(options["processed_folder"]).mkdir(parents=True, exist_ok=True)
    for stale in Path(folder).glob("*.pidbox.msg"):
        stale.unlink(missing_ok=True)
