"""Convert a PyTorch checkpoint (e.g. MAISI's ``autoencoder_epoch273.pt``) to safetensors.

    python -m generation.convert_weights SRC.pt DST.safetensors [--key unet_state_dict]
        [--preset report2ct --role autoencoder] [--scale-factor 1.4]

The engine only reads safetensors (no pickled code at run time). Reading the source uses
``torch.load(weights_only=True)``, which refuses arbitrary pickled objects. With ``--preset``
the converted weights are checked against the preset's architecture before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from safetensors.torch import save_file


def extract_state_dict(checkpoint: object, key: str | None = None) -> dict[str, torch.Tensor]:
    """The tensor dict inside a checkpoint: ``checkpoint[key]`` or the checkpoint itself."""
    state = checkpoint[key] if key else checkpoint  # type: ignore[index]
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        keys = list(checkpoint)[:10] if isinstance(checkpoint, dict) else type(checkpoint).__name__
        raise ValueError(f"no tensor state dict found (pass --key; top-level keys: {keys})")
    # Checkpoints saved from DataParallel/DDP prefix every key with "module.".
    return {k.removeprefix("module."): v.contiguous() for k, v in state.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m generation.convert_weights", description=__doc__.splitlines()[0]
    )
    parser.add_argument("src")
    parser.add_argument("dst")
    parser.add_argument(
        "--key", default=None, help="entry holding the state dict (e.g. unet_state_dict)"
    )
    parser.add_argument("--preset", default=None, help="check against this preset's architecture")
    parser.add_argument("--role", choices=("autoencoder", "unet"), default=None)
    parser.add_argument(
        "--scale-factor", type=float, default=None, help="latent scale factor (unet)"
    )
    args = parser.parse_args(argv)
    try:
        checkpoint = torch.load(args.src, map_location="cpu", weights_only=True)
        state = extract_state_dict(checkpoint, args.key)
        if args.preset:
            from generation.networks import build_autoencoder, build_unet
            from generation.registry import load_preset

            if not args.role:
                raise ValueError("--preset needs --role autoencoder|unet")
            preset = load_preset(args.preset)
            build = build_autoencoder if args.role == "autoencoder" else build_unet
            with torch.device("meta"):
                module = build(preset.section(args.role), preset.spatial_dims)
            module.load_state_dict(state, strict=True, assign=True)
        metadata = {"source": Path(args.src).name}
        if args.scale_factor is not None:
            metadata["scale_factor"] = repr(args.scale_factor)
        Path(args.dst).parent.mkdir(parents=True, exist_ok=True)
        save_file(state, args.dst, metadata=metadata)
    except Exception as exc:  # noqa: BLE001 - a command-line tool reports, it does not trace
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {len(state)} tensors to {args.dst}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
