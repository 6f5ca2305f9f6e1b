"""Copy trained weights into the shipped weights folder, optionally as float16.

    python -m generation.training.ship RUN_DIR/unet.safetensors generation/weights/demo/unet.safetensors --half

Half precision halves the size of what the project commits (the shared budget is 50 MB); the
loader copies float16 tensors into the float32 modules, so inference runs as before. Metadata
(e.g. the latent scale factor) is kept. A checkpoint's UNet (``RUN/checkpoints/step_N/
unet.safetensors``) has none: its run's scale factor and step are read from the ``state.json``
beside it, so a checkpoint ships as completely as the run's final weights.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from safetensors.torch import load_file, save_file

from generation.weights_io import read_metadata


def ship(src: Path, dst: Path, *, half: bool) -> dict:
    state = load_file(str(src), device="cpu")
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    metadata = read_metadata(src)
    checkpoint_state = src.parent / "state.json"
    if "scale_factor" not in metadata and checkpoint_state.is_file():
        saved = json.loads(checkpoint_state.read_text())
        if "scale_factor" in saved.get("extra", {}):
            metadata["scale_factor"] = str(saved["extra"]["scale_factor"])
            metadata["step"] = str(saved.get("step", ""))
    if half:
        metadata["stored_dtype"] = "float16"
    dst.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(dst), metadata=metadata)
    return {"src": str(src), "dst": str(dst), "bytes": dst.stat().st_size, "half": half}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m generation.training.ship", description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("dst", type=Path)
    parser.add_argument("--half", action="store_true", help="store floating-point tensors as float16")
    args = parser.parse_args(argv)
    if not args.src.is_file():
        print(f"error: {args.src} does not exist", file=sys.stderr)
        return 2
    print(ship(args.src, args.dst, half=args.half))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
