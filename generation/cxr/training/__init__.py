"""CXR training commands (MedCoDi-M's three training phases, sized for a CPU).

    python -m generation.cxr.training STAGE --data DIR --out RUN [options]

Stages, in order (each reads what the earlier ones wrote into RUN):

- ``encoders``     shared space: image encoder + text head, symmetric InfoNCE (§2.1)
- ``autoencoder``  2D KL autoencoder shared by both views
- ``ldm``          one latent diffusion UNet per view (``--view frontal|lateral``) with
                   multi-prompt training (§2.2); ``--prompt-sampling single`` trains the ablation
- ``report``       conditional report decoder, multi-prompt over the two views
- ``joint``        cross-modal latent coupling of the two view UNets (§2.3)
- ``all``          every stage above, then a model card (``--ship DIR`` copies the weights there)

Every stage exposes ``main(argv) -> exit status``, shows a tqdm bar, appends a JSONL loss log,
writes resumable safetensors checkpoints under RUN/<stage>/ (``--resume``), runs on CPU or GPU
(``--device``), and exports its weights to RUN/ under the preset's file names.
"""

from __future__ import annotations

from collections.abc import Sequence

STAGES: tuple[str, ...] = ("encoders", "autoencoder", "ldm", "report", "joint", "all")
USAGE = "usage: python -m generation.cxr.training {" + ",".join(STAGES) + "} --data DIR --out RUN [options]"


def main(argv: Sequence[str] | None = None) -> int:
    """Dispatch ``STAGE args...`` to the stage's own ``main``."""
    import importlib
    import sys

    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help") or args[0] not in STAGES:
        print(__doc__ if args and args[0] in ("-h", "--help") else USAGE, file=sys.stderr)
        return 0 if args and args[0] in ("-h", "--help") else 2
    name = "run_all" if args[0] == "all" else args[0]
    module = importlib.import_module(f"generation.cxr.training.{name}")
    return int(module.main(args[1:]))
