"""Argument parsing, up-front checks, run config and export shared by the training commands."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from generation.errors import GenerationError
from generation.registry import Preset, load_preset
from generation.weights_io import save_weights


class TrainingError(GenerationError):
    """A training command cannot start (bad arguments, data or output directory)."""


def base_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--data", required=True, help="data directory (cases.csv + ct/)")
    parser.add_argument(
        "--extra-data", action="append", default=[], metavar="DIR",
        help="supplementary data set, training cases only (repeatable), e.g. a finding-enriched "
        "one; any held-out split is --data's",
    )  # fmt: skip
    parser.add_argument(
        "--out", required=True, help="output directory (checkpoints, logs, weights)"
    )
    parser.add_argument("--preset", default="demo", help="preset name or path to a preset .json")
    parser.add_argument(
        "--weights-dir", default=None, help="weights root (default: RADSYNTH_WEIGHTS_DIR)"
    )
    parser.add_argument("--max-steps", type=int, default=None, help="total optimisation steps")
    parser.add_argument("--batch-size", type=int, default=None, help="per-process batch size")
    parser.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-4)")
    parser.add_argument("--save-every", type=int, default=None, help="checkpoint interval (steps)")
    parser.add_argument("--log-every", type=int, default=10, help="loss log interval (steps)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint")
    return parser


def training_settings(preset: Preset, kind: str, args: argparse.Namespace) -> dict[str, Any]:
    """Preset defaults overridden by command-line values."""
    settings = dict(preset.section("training").get(kind) or {})
    for key in ("max_steps", "batch_size", "lr", "save_every"):
        value = getattr(args, key, None)
        if value is not None:
            settings[key] = value
    settings.setdefault("lr", 1e-4)
    settings.setdefault("lr_power", 1.0)
    settings.setdefault("batch_size", 1)
    settings.setdefault("max_steps", 1000)
    settings.setdefault("save_every", 500)
    for key in ("max_steps", "batch_size", "save_every"):
        if int(settings[key]) < 1:
            raise TrainingError(
                f"--{key.replace('_', '-')} must be at least 1, got {settings[key]}."
            )
    if not float(settings["lr"]) > 0:
        raise TrainingError(f"--lr must be positive, got {settings['lr']}.")
    return settings


def load_preset_for_training(name: str) -> Preset:
    preset = load_preset(name)
    if preset.spatial_dims != 3:
        raise TrainingError(
            f"Preset {preset.name!r} is {preset.spatial_dims}D; these commands train 3D CT models."
        )
    return preset


def prepare_out_dir(out: Path, kind: str, preset: Preset, args: argparse.Namespace) -> None:
    """Create the output dir and write (or, on resume, check) ``config.json``."""
    config_path = out / "config.json"
    if config_path.is_file():
        previous = json.loads(config_path.read_text())
        same = previous.get("kind") == kind and previous.get("preset") == preset.data
        if args.resume and not same:
            raise TrainingError(
                f"{out} holds a {previous.get('kind')} run of preset "
                f"{previous.get('preset_name')!r} with a different configuration; cannot resume it "
                f"as {kind} of {preset.name!r}. Use another --out."
            )
        if not args.resume and (out / "checkpoints" / "latest.json").is_file():
            raise TrainingError(
                f"{out} already contains checkpoints; pass --resume to continue or choose another --out."
            )
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write_test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise TrainingError(f"Cannot write to output directory {out}: {exc}") from exc


def write_run_config(
    out: Path, kind: str, preset: Preset, args: argparse.Namespace, extra: dict
) -> None:
    config = {
        "kind": kind,
        "preset_name": preset.name,
        "preset_version": preset.version,
        "preset": preset.data,
        "args": {k: v for k, v in vars(args).items()},
        "torch": torch.__version__,
        "written_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }
    (out / "config.json").write_text(json.dumps(config, indent=1, default=str))


def export_weights(
    out: Path,
    filename: str,
    module: torch.nn.Module,
    preset: Preset,
    metadata: dict[str, Any],
    card: str,
) -> Path:
    """Final weights, named as the preset expects them, plus a short model card."""
    meta = {"preset": preset.name, "preset_version": str(preset.version), **metadata}
    path = out / filename
    save_weights(module, path, {k: str(v) for k, v in meta.items()})
    (out / "MODEL_CARD.md").write_text(card)
    return path


def model_card(
    preset: Preset, kind: str, data_dir: str, n_cases: int, steps: int, extra: str = ""
) -> str:
    return (
        f"# {preset.name} {kind}\n\n"
        f"Trained by RadSynth's `python -m generation.training.{kind}` on {n_cases} cases from "
        f"`{data_dir}` for {steps} steps (preset {preset.model_version}).\n\n"
        "If the data directory was produced by the project's procedural phantom generator, this "
        "model has never seen a patient: it shows phantom anatomy, is meant for demonstration, "
        "and must not be used for any clinical purpose.\n" + (f"\n{extra}\n" if extra else "")
    )


def run_main(
    argv: Sequence[str] | None,
    parser: argparse.ArgumentParser,
    run: Callable[[argparse.Namespace], dict],
) -> int:
    """Parse, run, print one JSON summary line; user errors -> message + exit status 2."""
    args = parser.parse_args(argv)
    try:
        summary = run(args)
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if os.environ.get("RANK", "0") == "0":  # under torchrun only rank 0 reports
        print(json.dumps(summary))
    return 0
