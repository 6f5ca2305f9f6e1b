from webapp.core.management.passthrough import PassThroughCommand


class Command(PassThroughCommand):
    help = "List generation presets: parameter counts, expected weight files, whether they are present."
    target = "generation.registry:main"
