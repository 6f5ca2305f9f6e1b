"""``manage.py rating_stats --input FILE.csv [--scale 1-5] --json``: the statistics contract.

A thin shell over :func:`turing_test.stats.rating_stats`; bad input becomes a one-line
CommandError (exit status 1, no traceback).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from turing_test.stats import RatingTableError, rating_stats, read_rating_csv
from turing_test.stats.summary import format_summary


class Command(BaseCommand):
    help = (
        "Inter-reader agreement (ICC, Krippendorff, Fleiss, Cohen, Kendall W) and, with a truth "
        "column, real-vs-synthetic discrimination (AUC, Mann-Whitney, OR-MRMC) of a long CSV "
        "item,reader,rating[,truth][,modality]."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--input", required=True, metavar="FILE.csv", help="long rating table")
        parser.add_argument("--scale", default=None, metavar="LOW-HIGH",
                            help="declared rating scale, e.g. 1-5 (checked; kappa categories)")
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--bootstrap", type=int, default=2000, metavar="N",
                            help="bootstrap replicates for the AUC CI (0 = skip; default 2000)")
        parser.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")

    def handle(self, *args, **options) -> None:
        if options["bootstrap"] < 0:
            raise CommandError("--bootstrap must be 0 or more")
        try:
            table = read_rating_csv(options["input"])
            result = rating_stats(table, options["scale"], n_bootstrap=options["bootstrap"],
                                  seed=options["seed"])
        except RatingTableError as exc:
            raise CommandError(str(exc)) from None
        if options["json"]:
            self.stdout.write(json.dumps(result, allow_nan=False, indent=2))
        else:
            self.stdout.write(format_summary(result))
