"""The shared optimisation loop: Adam + polynomial LR decay, AMP on CUDA, DDP, checkpoints,
a tqdm progress bar and a JSONL loss log. The two training commands only supply the loss."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from generation.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from generation.training.distributed import DistInfo

LossFn = Callable[[torch.nn.Module, dict[str, torch.Tensor]], torch.Tensor]


@dataclass
class LoopSettings:
    max_steps: int
    lr: float = 1e-4
    lr_power: float = 1.0
    save_every: int = 500
    log_every: int = 10
    resume: bool = False


class LossLog:
    """Append-only JSONL, one line per logged step; on resume, lines past the restored step are
    dropped so a crash between a log line and the next checkpoint does not duplicate steps."""

    def __init__(self, path: Path, resume_step: int = 0) -> None:
        self.path = path
        if resume_step and path.is_file():
            kept = [
                line
                for line in path.read_text().splitlines()
                if line.strip() and json.loads(line)["step"] <= resume_step
            ]
            path.write_text("".join(f"{line}\n" for line in kept))
        elif path.exists() and not resume_step:
            path.unlink()

    def write(self, record: dict[str, Any]) -> None:
        with self.path.open("a") as fh:
            fh.write(json.dumps(record) + "\n")


class Trainer:
    def __init__(
        self,
        model: torch.nn.Module,
        model_name: str,
        out_dir: Path,
        dist_info: DistInfo,
        settings: LoopSettings,
    ) -> None:
        self.model = model.to(dist_info.device)
        self.model_name = model_name
        self.out_dir = out_dir
        self.dist = dist_info
        self.settings = settings
        self.amp = dist_info.device.type == "cuda"
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=settings.lr)
        self.lr_scheduler = torch.optim.lr_scheduler.PolynomialLR(
            self.optimizer, total_iters=settings.max_steps, power=settings.lr_power
        )
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.step = 0
        self.forward_model: torch.nn.Module = self.model
        if dist_info.distributed:
            ids = [dist_info.device.index] if dist_info.device.type == "cuda" else None
            self.forward_model = DistributedDataParallel(self.model, device_ids=ids)

    def maybe_resume(self) -> int:
        """Restore the latest checkpoint when asked; returns the step to continue from."""
        if not self.settings.resume:
            return 0
        folder = latest_checkpoint(self.out_dir)
        if folder is None:
            return 0
        state = load_checkpoint(
            folder, {self.model_name: self.model}, self.optimizer, self.lr_scheduler, self.scaler
        )
        self.step = int(state["step"])
        return self.step

    def _autocast(self):
        return torch.autocast("cuda", dtype=torch.float16) if self.amp else nullcontext()

    def save(self, extra: dict[str, Any] | None = None) -> None:
        if self.dist.is_main:
            save_checkpoint(
                self.out_dir,
                self.step,
                {self.model_name: self.model},
                self.optimizer,
                self.lr_scheduler,
                self.scaler,
                extra,
            )

    def fit(
        self, batches: Iterator[dict[str, torch.Tensor]], loss_fn: LossFn, extra: dict | None = None
    ) -> dict[str, Any]:
        """Run from ``self.step`` to ``max_steps``; returns a summary for the command's output."""
        s = self.settings
        log = LossLog(self.out_dir / "loss_log.jsonl", self.step) if self.dist.is_main else None
        bar = tqdm(
            total=s.max_steps, initial=self.step, desc=self.model_name, disable=not self.dist.is_main,
            dynamic_ncols=True,
        )  # fmt: skip
        self.forward_model.train()
        last_loss, started, running = float("nan"), time.perf_counter(), []
        while self.step < s.max_steps:
            batch = {k: v.to(self.dist.device, non_blocking=True) for k, v in next(batches).items()}
            with self._autocast():
                loss = loss_fn(self.forward_model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"loss became {loss.item()} at step {self.step + 1}")
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.lr_scheduler.step()
            self.step += 1
            last_loss = float(loss.detach())
            running.append(last_loss)
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{self.lr_scheduler.get_last_lr()[0]:.2e}")
            if log is not None and (self.step % s.log_every == 0 or self.step == s.max_steps):
                log.write(
                    {
                        "step": self.step,
                        "loss": sum(running) / len(running),
                        "lr": self.lr_scheduler.get_last_lr()[0],
                        "elapsed_s": round(time.perf_counter() - started, 3),
                    }
                )
                running = []
            if self.step % s.save_every == 0 or self.step == s.max_steps:
                self.save(extra)
        bar.close()
        return {"step": self.step, "last_loss": last_loss}


def infinite_batches(
    loader: torch.utils.data.DataLoader, start_step: int = 0
) -> Iterator[dict[str, torch.Tensor]]:
    """Cycle through epochs forever, reshuffling (per epoch) under a DistributedSampler."""
    epoch = start_step // max(len(loader), 1)
    while True:
        sampler = loader.sampler
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)
        yield from loader
        epoch += 1
