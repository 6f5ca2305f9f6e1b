"""Django commands that hand their arguments to a pure `main(argv)` in generation/.

The engine's command-line tools must run without Django (in a GPU container or notebook); these
wrappers only make them reachable as `manage.py <name>` with the project's settings applied.
"""

from __future__ import annotations

import importlib
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class PassThroughCommand(BaseCommand):
    #: "package.module:function" taking argv (list[str]) and returning an exit code or None.
    target = ""

    def _main(self):
        module_name, func_name = self.target.split(":")
        return getattr(importlib.import_module(module_name), func_name)

    def _run(self, argv: list[str]) -> None:
        if settings.RADSYNTH_WEIGHTS_DIR:
            os.environ.setdefault("RADSYNTH_WEIGHTS_DIR", settings.RADSYNTH_WEIGHTS_DIR)
        try:
            code = self._main()(argv)
        except SystemExit as exc:  # argparse and the CLIs exit with their own clear message
            code = exc.code
        if code not in (0, None):
            raise CommandError(f"{self.target.split(':')[0]} exited with status {code}", returncode=int(code) if isinstance(code, int) else 1)

    def run_from_argv(self, argv: list[str]) -> None:
        # Bypass Django's option parser: the pure CLI owns its arguments and --help.
        try:
            self._run(argv[2:])
        except CommandError as exc:
            sys.exit(exc.returncode)

    def add_arguments(self, parser):
        parser.add_argument("argv", nargs="*")

    def handle(self, *args, argv=(), **options):
        self._run(list(argv))
