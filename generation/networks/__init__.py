"""Network factories (MONAI) and the network tensor layout."""

from generation.networks.factories import (
    build_autoencoder,
    build_scheduler,
    build_unet,
    count_parameters,
)

__all__ = ["build_autoencoder", "build_scheduler", "build_unet", "count_parameters"]
