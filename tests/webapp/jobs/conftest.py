"""Job tests point the in-process engine at the untrained weights the worker also uses."""

from __future__ import annotations

import pytest


@pytest.fixture
def weights_settings(settings, untrained_weights_dir):
    settings.RADSYNTH_WEIGHTS_DIR = str(untrained_weights_dir)
    return untrained_weights_dir
