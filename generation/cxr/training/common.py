"""What the CXR stages share: arguments, run layout, caches, fp16 export, batches.

Run directory (``--out RUN``)::

    RUN/cache/*.safetensors         preprocessed images, text-encoder token states, latents,
                                    shared-space embeddings (each with a fingerprint of its inputs)
    RUN/<stage>/                    config.json, loss_log.jsonl, checkpoints/ (resumable)
    RUN/<preset file>.safetensors   exported weights, the layout a weights directory needs
                                    (point RADSYNTH_WEIGHTS_DIR at RUN's parent if RUN is named
                                    after the preset, or copy the files: ``all --ship DIR``)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from generation.cxr.data import CXRCase, load_images, read_cxr_cases, report_texts
from generation.cxr.encoders import SharedSpace, TextBackbone
from generation.cxr.loading import check_cxr_preset, text_encoder_width
from generation.cxr.modalities import REPORT, VIEWS
from generation.errors import GenerationError, MissingWeights
from generation.pipelines.loading import load_text_encoders
from generation.registry import Preset, load_preset
from generation.training import distributed
from generation.training.common import (
    TrainingError,
    base_parser,
    prepare_out_dir,
    training_settings,
)
from generation.training.common import write_run_config as _write_run_config
from generation.training.loop import LoopSettings
from generation.weights_io import file_sha256, load_weights

DEFAULT_PRESET = "cxr-demo"
EMBED_BATCH = 128


def stage_parser(prog: str, description: str) -> argparse.ArgumentParser:
    parser = base_parser(prog, description)
    parser.set_defaults(preset=DEFAULT_PRESET)
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch CPU threads (default: torch's choice); 1 is the most CPU-efficient on a busy machine",
    )  # fmt: skip
    return parser


@dataclass
class Run:
    """One training run: the preset, the cases and the run directory."""

    out: Path
    preset: Preset
    cases: list[CXRCase]
    args: argparse.Namespace
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def cache_dir(self) -> Path:
        return self.out / "cache"

    @property
    def train_index(self) -> torch.Tensor:
        return torch.tensor([i for i, c in enumerate(self.cases) if c.split == "train"], dtype=torch.long)

    @property
    def image_size(self) -> int:
        return int(self.preset.output_shape_zyx[0])

    def weights_path(self, role: str) -> Path:
        return self.out / self.preset.data["files"][role]

    def require(self, role: str, stage: str) -> Path:
        path = self.weights_path(role)
        if not path.is_file():
            raise MissingWeights(str(path), self.preset.name, role=f"{role} weights (run the '{stage}' stage first)")
        return path


def open_run(args: argparse.Namespace) -> Run:
    """Checks that can fail on user input, before any model is built."""
    preset = load_preset(args.preset)
    try:
        check_cxr_preset(preset)
    except GenerationError as exc:
        raise TrainingError(str(exc)) from exc
    cases = read_cxr_cases(args.data)
    for extra in getattr(args, "extra_data", None) or []:
        cases += read_cxr_cases(extra, training_only=True)
    if not any(c.split == "train" for c in cases):
        raise TrainingError(f"{args.data} has no training cases (all are held out).")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return Run(out, preset, cases, args)


def stage_settings(run: Run, kind: str) -> dict[str, Any]:
    return training_settings(run.preset, kind, run.args)


def loop_settings(settings: dict[str, Any], args: argparse.Namespace) -> LoopSettings:
    return LoopSettings(
        max_steps=int(settings["max_steps"]), lr=float(settings["lr"]),
        lr_power=float(settings["lr_power"]), save_every=int(settings["save_every"]),
        log_every=args.log_every, resume=args.resume,
    )  # fmt: skip


def stage_dir(run: Run, name: str, kind: str, extra: dict[str, Any]) -> Path:
    """RUN/<name>/ with its config.json (checked on --resume, refused over old checkpoints)."""
    folder = run.out / name
    prepare_out_dir(folder, kind, run.preset, run.args)
    data = {"data": str(run.args.data), "extra_data": list(getattr(run.args, "extra_data", []) or [])}
    _write_run_config(folder, kind, run.preset, run.args, {**data, **extra})
    return folder


def setup_device(args: argparse.Namespace) -> distributed.DistInfo:
    if getattr(args, "threads", None):
        torch.set_num_threads(int(args.threads))
    info = distributed.setup(args.device)
    if info.distributed:
        raise TrainingError("the CXR stages are small and run in one process; launch them without torchrun.")
    torch.manual_seed(args.seed)
    return info


# ---------------------------------------------------------------- caches
def fingerprint(parts: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


def cached_tensors(path: Path, key: str) -> dict[str, torch.Tensor] | None:
    """The cache file's tensors if it was built from the same inputs (same ``key``), else None."""
    if not path.is_file():
        return None
    with safe_open(str(path), framework="pt") as fh:
        if (fh.metadata() or {}).get("fingerprint") != key:
            return None
    return load_file(str(path))


def store_tensors(path: Path, tensors: dict[str, torch.Tensor], key: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # stages may build a cache concurrently
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp), metadata={"fingerprint": key})
    tmp.replace(path)


def cases_key(run: Run) -> list[str]:
    stamps = []
    for c in run.cases:
        for view in VIEWS:
            stat = c.images[view].stat()
            stamps.append(f"{c.case_id}:{view}:{stat.st_size}:{stat.st_mtime_ns}")
    return stamps


def image_cache(run: Run) -> dict[str, torch.Tensor]:
    """{view: [N, 1, S, S] float32} for every case (train and test)."""
    key = fingerprint([*cases_key(run), str(run.image_size)])
    path = run.cache_dir / "images.safetensors"
    cached = cached_tensors(path, key)
    if cached is None:
        images = load_images(run.cases, run.image_size)
        store_tensors(path, {v: x.half() for v, x in images.items()}, key)
        cached = load_file(str(path))
    return {v: x.float() for v, x in cached.items()}


def load_backbone(run: Run, device: torch.device) -> tuple[TextBackbone, list[tuple[str, Path]]]:
    root = run.preset.weights_root(run.args.weights_dir)
    multi, files, _ = load_text_encoders(run.preset, root)
    return TextBackbone(multi.encoders[0]).to(device), files


def text_cache(run: Run, device: torch.device) -> dict[str, torch.Tensor]:
    """{"states": [N, T, E] float32, "mask": [N, T]}: the frozen encoder's token states."""
    backbone, files = load_backbone(run, device)
    texts = report_texts(run.cases)
    key = fingerprint([*texts, *(f"{n}:{file_sha256(p)}" for n, p in files), str(backbone.max_length)])
    path = run.cache_dir / "text_states.safetensors"
    cached = cached_tensors(path, key)
    if cached is None:
        states, masks = [], []
        for i in range(0, len(texts), EMBED_BATCH):
            s, m = backbone.states(texts[i : i + EMBED_BATCH])
            states.append(s.cpu())
            masks.append(m.cpu())
        length = max(s.shape[1] for s in states)
        states = [torch.nn.functional.pad(s, (0, 0, 0, length - s.shape[1])) for s in states]
        masks = [torch.nn.functional.pad(m, (0, length - m.shape[1])) for m in masks]
        store_tensors(path, {"states": torch.cat(states).half(), "mask": torch.cat(masks).to(torch.int8)}, key)
        cached = load_file(str(path))
    return {"states": cached["states"].float(), "mask": cached["mask"].long()}


def load_shared_space(run: Run, device: torch.device) -> tuple[SharedSpace, Path]:
    path = run.require("shared_space", "encoders")
    root = run.preset.weights_root(run.args.weights_dir)
    shared = SharedSpace.from_config(run.preset.section("shared_space"), text_encoder_width(run.preset, root))
    load_weights(shared, path, run.preset.name, "shared_space")
    return shared.to(device).eval(), path


@torch.no_grad()
def embedding_cache(run: Run, device: torch.device) -> dict[str, torch.Tensor]:
    """{"frontal", "lateral", "report": [N, D]}: shared-space embeddings of every case."""
    shared, path = load_shared_space(run, device)
    images = image_cache(run)
    text = text_cache(run, device)
    key = fingerprint([*cases_key(run), file_sha256(path), str(text["states"].shape)])
    cache = run.cache_dir / "embeddings.safetensors"
    cached = cached_tensors(cache, key)
    if cached is None:
        out: dict[str, list[torch.Tensor]] = {m: [] for m in (*VIEWS, REPORT)}
        n = len(run.cases)
        for i in range(0, n, EMBED_BATCH):
            for view in VIEWS:
                out[view].append(shared.encode_image(images[view][i : i + EMBED_BATCH].to(device)).cpu())
            states = text["states"][i : i + EMBED_BATCH].to(device)
            mask = text["mask"][i : i + EMBED_BATCH].to(device)
            out[REPORT].append(shared.encode_text_states(states, mask).cpu())
        store_tensors(cache, {k: torch.cat(v) for k, v in out.items()}, key)
        cached = load_file(str(cache))
    return cached


# ---------------------------------------------------------------- export and batches
def export_fp16(
    state: dict[str, torch.Tensor], path: Path, run: Run, role: str, metadata: dict[str, Any] | None = None
) -> Path:
    """Weights as float16 safetensors (loaded back into float32 modules): half the bytes, which
    keeps the shipped demo under the repository's weight budget; the precision loss is far
    below what these small models resolve."""
    tensors = {
        k: (v.detach().cpu().half() if v.is_floating_point() else v.detach().cpu()).contiguous()
        for k, v in state.items()
    }
    meta = {
        "preset": run.preset.name, "preset_version": str(run.preset.version), "role": role,
        "stored_dtype": "float16", **{k: str(v) for k, v in (metadata or {}).items()},
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def random_batches(
    n_items: int, batch_size: int, fetch: Callable[[torch.Tensor], dict[str, torch.Tensor]]
) -> Iterator[dict[str, torch.Tensor]]:
    """Shuffled batches of positions 0..n_items-1, epoch after epoch (torch's RNG, so a resumed
    run continues from the restored RNG state)."""
    batch_size = min(batch_size, n_items)
    while True:
        order = torch.randperm(n_items)
        for start in range(0, n_items - batch_size + 1, batch_size):
            yield fetch(order[start : start + batch_size])


class StageTimer:
    """Wall-clock and CPU seconds of a stage (CPU time is what a busy, shared machine can't distort)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()
        self.cpu_start = time.process_time()

    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 1)

    def cpu_seconds(self) -> float:
        return round(time.process_time() - self.cpu_start, 1)


_STAGE_TIMER = StageTimer()  # per process: the CPU time a stage command used


def summary_line(run: Run, kind: str, result: dict[str, Any], **extra: Any) -> dict[str, Any]:
    extra.setdefault("cpu_seconds", _STAGE_TIMER.cpu_seconds())
    record = {"kind": kind, "preset": run.preset.name, "out": str(run.out), **result, **extra}
    log = run.out / "training_summary.jsonl"
    with log.open("a") as fh:
        fh.write(json.dumps(record) + "\n")
    return record
