"""Resumable checkpoints: safetensors for every tensor, JSON for everything else.

Layout under the output directory::

    checkpoints/step_00000100/<model>.safetensors   network weights
    checkpoints/step_00000100/optimizer.safetensors  Adam moments + RNG state
    checkpoints/step_00000100/state.json             step, param groups, LR schedule, scaler
    checkpoints/latest.json                          {"step": 100, "dir": "step_00000100"}

No pickles: a checkpoint can be inspected and loaded without executing code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from generation.weights_io import save_weights

KEEP_LAST = 3


def _optimizer_to_flat(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict]:
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if torch.is_tensor(value):
                tensors[f"state.{index}.{name}"] = value.detach().to("cpu").contiguous()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _optimizer_from_flat(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("state."):
            _, index, name = key.split(".", 2)
            state.setdefault(int(index), {})[name] = value
    for index, values in meta.get("scalars", {}).items():
        state.setdefault(int(index), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(
    out_dir: Path,
    step: int,
    models: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    lr_scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write a checkpoint and point ``latest.json`` at it; keeps the last few."""
    root = out_dir / "checkpoints"
    folder = root / f"step_{step:08d}"
    folder.mkdir(parents=True, exist_ok=True)
    for name, module in models.items():
        save_weights(module, folder / f"{name}.safetensors")
    tensors, opt_meta = _optimizer_to_flat(optimizer)
    tensors["rng.torch_cpu"] = torch.get_rng_state()
    save_file(tensors, str(folder / "optimizer.safetensors"))
    state = {
        "step": step,
        "optimizer": opt_meta,
        "lr_scheduler": lr_scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "extra": extra or {},
    }
    (folder / "state.json").write_text(json.dumps(state, indent=1))
    tmp = root / "latest.json.tmp"
    tmp.write_text(json.dumps({"step": step, "dir": folder.name}))
    tmp.replace(root / "latest.json")  # atomic: a crash never leaves a half-written pointer
    for old in sorted(root.glob("step_*"))[:-KEEP_LAST]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def latest_checkpoint(out_dir: Path) -> Path | None:
    pointer = out_dir / "checkpoints" / "latest.json"
    if not pointer.is_file():
        return None
    folder = out_dir / "checkpoints" / json.loads(pointer.read_text())["dir"]
    return folder if (folder / "state.json").is_file() else None


def load_checkpoint(
    folder: Path,
    models: dict[str, torch.nn.Module],
    optimizer: torch.optim.Optimizer,
    lr_scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler | None,
) -> dict[str, Any]:
    """Restore everything saved by :func:`save_checkpoint`; returns the state (with "step")."""
    state = json.loads((folder / "state.json").read_text())
    for name, module in models.items():
        weights = load_file(str(folder / f"{name}.safetensors"), device="cpu")
        module.load_state_dict(weights, strict=True)
    tensors = load_file(str(folder / "optimizer.safetensors"), device="cpu")
    if "rng.torch_cpu" in tensors:
        torch.set_rng_state(tensors.pop("rng.torch_cpu"))
    optimizer.load_state_dict(_optimizer_from_flat(tensors, state["optimizer"]))
    lr_scheduler.load_state_dict(state["lr_scheduler"])
    if scaler is not None and state.get("scaler"):
        scaler.load_state_dict(state["scaler"])
    return state
