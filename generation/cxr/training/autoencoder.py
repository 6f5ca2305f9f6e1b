"""Stage 2a: the 2D KL autoencoder, one for both views.

    python -m generation.cxr.training autoencoder --data DIR --out RUN [--resume]

MedCoDi-M keeps Stable Diffusion's pretrained AutoKL frozen (two identical instances); with no
pretrained 2D CXR autoencoder shipped, the demo trains one, shared by the frontal and lateral
LDMs (both are grey radiographs of the same anatomy). Loss: L1 reconstruction + a small KL term,
as in the CT autoencoder command. Writes RUN/autoencoder.safetensors and the latent cache
(posterior means of every image) that the diffusion stages train on.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from generation.cxr.modalities import VIEWS
from generation.cxr.training.common import (
    EMBED_BATCH,
    Run,
    StageTimer,
    cached_tensors,
    cases_key,
    export_fp16,
    fingerprint,
    image_cache,
    loop_settings,
    open_run,
    random_batches,
    setup_device,
    stage_dir,
    stage_parser,
    stage_settings,
    store_tensors,
    summary_line,
)
from generation.networks import build_autoencoder
from generation.training.autoencoder import kl_loss
from generation.training.common import run_main
from generation.training.loop import Trainer
from generation.weights_io import file_sha256, load_weights

KIND = "autoencoder"


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser("python -m generation.cxr.training autoencoder", __doc__.splitlines()[0])
    parser.add_argument("--kl-weight", type=float, default=None, help="KL loss weight (default 1e-6)")
    return parser


@torch.no_grad()
def latent_cache(run: Run, device: torch.device) -> dict[str, torch.Tensor]:
    """{view: [N, C, h, w]} posterior means of every case's images."""
    path = run.require("autoencoder", KIND)
    model = build_autoencoder(run.preset.section("autoencoder"), 2)
    load_weights(model, path, run.preset.name, "autoencoder")
    model = model.to(device).eval()
    key = fingerprint([*cases_key(run), file_sha256(path)])
    cache = run.cache_dir / "latents.safetensors"
    cached = cached_tensors(cache, key)
    if cached is None:
        images = image_cache(run)
        out = {}
        for view in VIEWS:
            parts = []
            for i in range(0, len(run.cases), EMBED_BATCH):
                z_mu, _ = model.encode(images[view][i : i + EMBED_BATCH].to(device))
                parts.append(z_mu.cpu())
            out[view] = torch.cat(parts)
        store_tensors(cache, out, key)
        cached = cached_tensors(cache, key)
    assert cached is not None
    return cached


def reconstruction_error(run: Run, device: torch.device, model: torch.nn.Module) -> float:
    """Held-out mean absolute reconstruction error (images in [0, 1])."""
    test = [i for i, c in enumerate(run.cases) if c.split == "test"]
    if not test:
        return float("nan")
    images = image_cache(run)
    model.eval()
    errors = []
    with torch.no_grad():
        for view in VIEWS:
            x = images[view][test].to(device)
            recon, _, _ = model(x)
            errors.append(float((recon.clamp(0, 1) - x).abs().mean()))
    return round(sum(errors) / len(errors), 5)


def train(args: argparse.Namespace) -> dict:
    run = open_run(args)
    settings = stage_settings(run, KIND)
    kl_weight = args.kl_weight if args.kl_weight is not None else float(settings.get("kl_weight", 1e-6))
    timer = StageTimer()
    folder = stage_dir(run, KIND, KIND, {"settings": settings, "kl_weight": kl_weight})
    info = setup_device(args)
    images = image_cache(run)
    train_index = run.train_index
    # Both views pooled: positions 0..n-1 are frontal images, n..2n-1 lateral ones.
    pool = torch.cat([images[v][train_index] for v in VIEWS])
    model = build_autoencoder(run.preset.section("autoencoder"), 2)
    trainer = Trainer(model, "autoencoder", folder, info, loop_settings(settings, args))
    start = trainer.maybe_resume()

    def loss_fn(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        image = batch["image"]
        recon, z_mu, z_sigma = net(image)
        return F.l1_loss(recon.float(), image) + kl_weight * kl_loss(z_mu.float(), z_sigma.float())

    result = trainer.fit(
        random_batches(len(pool), int(settings["batch_size"]), lambda pos: {"image": pool[pos]}), loss_fn
    )
    path: Path = export_fp16(model.state_dict(), run.weights_path("autoencoder"), run, KIND, {"step": trainer.step})
    error = reconstruction_error(run, info.device, model)
    latents = latent_cache(run, info.device)
    stds = {v: round(float(latents[v][train_index].std()), 4) for v in VIEWS}
    return summary_line(
        run, KIND, result, resumed_from=start, weights=str(path), seconds=timer.seconds(), cpu_seconds=timer.cpu_seconds(),
        heldout_l1=error, latent_std=stds,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
