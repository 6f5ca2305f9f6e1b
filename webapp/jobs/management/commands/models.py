"""`manage.py models`: presets, parameter counts, expected weight files and whether they exist."""

from __future__ import annotations

import json

from django.conf import settings
from django.core.management.base import BaseCommand

from generation.registry import describe_presets, format_presets_table


class Command(BaseCommand):
    help = "List generation presets with parameter counts, expected files and whether the weights are present."

    def add_arguments(self, parser):
        parser.add_argument("--weights-dir", default=None, help="overrides RADSYNTH_WEIGHTS_DIR")
        parser.add_argument("--json", dest="as_json", action="store_true", help="print one JSON object instead of a table")

    def handle(self, *args, weights_dir=None, as_json: bool = False, **options):
        described = describe_presets(weights_dir or settings.RADSYNTH_WEIGHTS_DIR or None)
        if as_json:
            self.stdout.write(json.dumps({"presets": described}, default=str))
        else:
            self.stdout.write(format_presets_table(described))

