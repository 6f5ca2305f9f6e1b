"""Create the role groups, demo accounts and demo content; safe to run any number of times."""

from __future__ import annotations

import importlib

from django.core.management.base import BaseCommand

from webapp.core.services import demo_accounts_ensure, roles_ensure

# Each app that has demo content offers `<app>.demo.seed(stdout)`; missing ones are skipped.
DEMO_CONTENT_MODULES = ("webapp.jobs.demo", "webapp.dicom.demo", "turing_test.demo", "webapp.cases.demo")


class Command(BaseCommand):
    help = "Create role groups, demo accounts and demo content (idempotent)."

    def handle(self, *args, **options):
        roles_ensure()
        accounts = demo_accounts_ensure()
        for module_name in DEMO_CONTENT_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            module.seed(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS(f"Demo accounts ready ({len(accounts)})."))
