from webapp.core.management.passthrough import PassThroughCommand


class Command(PassThroughCommand):
    help = "Train a preset's autoencoder or latent diffusion model (see `manage.py train --help`)."
    target = "generation.training.cli:main"
