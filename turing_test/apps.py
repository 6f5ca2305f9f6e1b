from django.apps import AppConfig


class TuringTestConfig(AppConfig):
    name = "turing_test"
    verbose_name = "Visual Turing Tests"

    def ready(self) -> None:
        from turing_test.access import register_reader_access

        register_reader_access()
