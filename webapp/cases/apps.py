from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "webapp.cases"
    label = "cases"
    verbose_name = "Teaching cases"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from webapp.cases.selectors import (
            studies_readable_through_cases_q,
            study_readable_through_case,
        )
        from webapp.cases.services import on_generation_output_saved
        from webapp.dicom.access import register_study_access_rule
        from webapp.jobs.models import GenerationOutput

        # Learners read the studies of cases they may read (published, unlisted via link, editors).
        # Originals, not presentation copies: the teaching case shows them with their labels.
        register_study_access_rule(
            "cases.case_reader",
            allows=study_readable_through_case,
            visible=studies_readable_through_cases_q,
            sources=("imported", "generated"),
        )
        # Variant jobs started from a case: their studies join the case when the worker stores them.
        post_save.connect(on_generation_output_saved, sender=GenerationOutput, dispatch_uid="cases.variant_attach")
