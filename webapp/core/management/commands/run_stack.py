"""Run the web server and a real Celery worker process together (what `make run` starts).

The worker consumes queues `gpu` and `cpu` with an embedded beat for the periodic job checks.
Ctrl-C stops both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from webapp.core.services import DEMO_ACCOUNTS, DEMO_PASSWORD
from webapp.core.worker import clear_stale_broadcasts, worker_command


class Command(BaseCommand):
    help = "Start the RadSynth web server and a Celery worker; print the URL and demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("RADSYNTH_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("RADSYNTH_PORT", "8000")))

    def handle(self, *args, host: str, port: int, **options):
        clear_stale_broadcasts()
        log_dir = Path(settings.BASE_DIR) / "var" / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        worker_log = open(log_dir / "worker.log", "ab")  # noqa: SIM115 - lives as long as the worker
        worker = subprocess.Popen(worker_command(beat=True), stdout=worker_log, stderr=subprocess.STDOUT)
        web = subprocess.Popen([sys.executable, "manage.py", "runserver", f"{host}:{port}", "--noreload"])
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nRadSynth is running at {url}"))
        self.stdout.write(f"Celery worker pid {worker.pid} (log: {log_dir / 'worker.log'})")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for username, _roles, description in DEMO_ACCOUNTS:
            self.stdout.write(f"  {username:<11} {description}")
        self.stdout.write("Press Ctrl-C to stop.\n")
        try:
            while worker.poll() is None and web.poll() is None:
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            for proc in (web, worker):
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in (web, worker):
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if worker.returncode not in (0, None, -signal.SIGTERM):
            self.stderr.write(f"The worker exited with code {worker.returncode}; see {log_dir / 'worker.log'}")
