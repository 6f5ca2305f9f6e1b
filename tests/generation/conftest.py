"""Engine tests: pure Python/torch, CPU, no database, one thread (the CI box is shared)."""

from __future__ import annotations

import torch

torch.set_num_threads(1)
