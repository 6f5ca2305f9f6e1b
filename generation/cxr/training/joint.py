"""Stage 3: cross-modal latent alignment for joint frontal + lateral generation (MedCoDi-M §2.3).

    python -m generation.cxr.training joint --data DIR --out RUN [--resume]

Starts from the two exported view UNets, frozen except their cross-attention sub-layers, and
adds a latent projector V per view (see :mod:`generation.cxr.joint`). Per step both views of a
case are noised to the SAME timestep (they are denoised in lock-step at inference); each UNet
gets the report condition plus V(partner's noisy latent) as a second context token. Loss: the
two views' velocity losses (eq. 3, summed) + ``align_weight`` x (1 - cos(V(z_t), clean image
embedding)) so that V lands in the shared space. The whole context is zeroed with probability
``guidance_dropout`` (classifier-free guidance). Writes RUN/joint.safetensors.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from generation.cxr.conditioning import to_context
from generation.cxr.joint import JointModel, build_joint_model
from generation.cxr.loading import cxr_config
from generation.cxr.modalities import REPORT, VIEWS
from generation.cxr.training.autoencoder import latent_cache
from generation.cxr.training.common import (
    StageTimer,
    embedding_cache,
    export_fp16,
    loop_settings,
    open_run,
    random_batches,
    setup_device,
    stage_dir,
    stage_parser,
    stage_settings,
    summary_line,
)
from generation.networks import build_scheduler, build_unet
from generation.training.common import run_main
from generation.training.loop import Trainer
from generation.weights_io import load_weights, read_metadata

KIND = "joint"


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser("python -m generation.cxr.training joint", __doc__.splitlines()[0])
    parser.add_argument("--align-weight", type=float, default=None, help="weight of V's alignment loss (default 0.1)")
    return parser


def make_loss_fn(scheduler, scale_factors: dict[str, float], dropout: float, context_scale: float, align: float):
    def loss_fn(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        model: JointModel = net.module if hasattr(net, "module") else net  # type: ignore[assignment]
        x0 = {v: batch[v] * scale_factors[v] for v in VIEWS}
        noise = {v: torch.randn_like(x0[v]) for v in VIEWS}
        timesteps = scheduler.sample_timesteps(x0["frontal"])
        noisy = {v: scheduler.add_noise(original_samples=x0[v], noise=noise[v], timesteps=timesteps) for v in VIEWS}
        projected = {v: model.projectors[v](noisy[v], timesteps) for v in VIEWS}
        cond = batch[REPORT]
        keep = (torch.rand(cond.shape[0], device=cond.device) >= dropout).float()[:, None, None]
        loss = cond.new_zeros(())
        for view in VIEWS:
            partner = JointModel.partner(view)
            context = torch.cat([to_context(cond, context_scale), (projected[partner] * context_scale)[:, None]], dim=1)
            velocity = model.unets[view](noisy[view], timesteps, context=context * keep)
            loss = loss + F.mse_loss(velocity.float(), x0[view] - noise[view])
            target = batch[f"{view}_embedding"]
            loss = loss + align * (1.0 - F.cosine_similarity(projected[view], target, dim=-1)).mean()
        return loss

    return loss_fn


def train(args: argparse.Namespace) -> dict:
    run = open_run(args)
    settings = stage_settings(run, KIND)
    align = float(args.align_weight if args.align_weight is not None else settings.get("align_weight", 0.1))
    dropout = float(settings.get("guidance_dropout", 0.15))
    timer = StageTimer()
    folder = stage_dir(run, KIND, KIND, {"settings": settings, "align_weight": align})
    info = setup_device(args)
    unets, scale_factors = {}, {}
    for view in VIEWS:
        path = run.require(f"unet_{view}", f"ldm --view {view}")
        unet = build_unet(run.preset.section("unet"), 2, use_flash_attention=False)
        load_weights(unet, path, run.preset.name, f"unet_{view}")
        unets[view] = unet
        scale_factors[view] = float(read_metadata(path)["scale_factor"])
    dim = int(run.preset.section("shared_space").get("dim", 128))
    model = build_joint_model(unets, run.preset.latent_channels, dim, copy_unets=False)
    latents = latent_cache(run, info.device)
    embeds = embedding_cache(run, info.device)
    train_index = run.train_index
    config = cxr_config(run.preset)
    scheduler = build_scheduler(run.preset.section("scheduler"), 2)
    trainer = Trainer(model, "joint", folder, info, loop_settings(settings, args))
    start = trainer.maybe_resume()

    def fetch(pos: torch.Tensor) -> dict[str, torch.Tensor]:
        idx = train_index[pos]
        batch = {v: latents[v][idx] for v in VIEWS}
        batch.update({f"{v}_embedding": embeds[v][idx] for v in VIEWS})
        batch[REPORT] = embeds[REPORT][idx]
        return batch

    loss_fn = make_loss_fn(scheduler, scale_factors, dropout, config.context_scale, align)
    result = trainer.fit(random_batches(len(train_index), int(settings["batch_size"]), fetch), loss_fn)
    path = export_fp16(model.coupling_state(), run.weights_path("joint"), run, KIND, {"step": trainer.step})
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return summary_line(
        run, KIND, result, resumed_from=start, weights=str(path), seconds=timer.seconds(), cpu_seconds=timer.cpu_seconds(), trainable_parameters=trainable
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
