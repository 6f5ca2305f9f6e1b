from django.apps import AppConfig


class TuringTestConfig(AppConfig):
    name = "turing_test"
    verbose_name = "Visual Turing Tests"
