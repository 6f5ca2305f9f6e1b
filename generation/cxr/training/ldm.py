"""Stage 2b: one latent diffusion UNet per view, with multi-prompt training (MedCoDi-M §2.2).

    python -m generation.cxr.training ldm --view frontal --data DIR --out RUN [--resume]
    python -m generation.cxr.training ldm --view lateral --data DIR --out RUN
    python -m generation.cxr.training ldm --view frontal --prompt-sampling single ...   # ablation

Per step and per sample, a non-empty subset of the view's prompts (report and the other view)
is drawn uniformly (``single``: exactly one prompt, the paper's MedCoDi ablation), the frozen
shared-space embeddings of the drawn prompts are averaged into the condition (eq. 1), and the
UNet learns the rectified-flow velocity x0 - noise under cross-attention to that condition; the
condition is zeroed with probability ``guidance_dropout`` for classifier-free guidance.
Writes RUN/unet_<view>.safetensors (``_single`` for the ablation) with the latent scale factor.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from generation.cxr.conditioning import (
    PROMPT_SAMPLING_MODES,
    combine,
    sample_prompt_masks,
    to_context,
)
from generation.cxr.loading import cxr_config
from generation.cxr.modalities import PROMPTS_FOR, VIEWS
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
from generation.training.common import TrainingError, run_main
from generation.training.loop import Trainer

KIND = "ldm"


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser("python -m generation.cxr.training ldm", __doc__.splitlines()[0])
    parser.add_argument("--view", choices=VIEWS, required=True, help="which view's UNet to train")
    parser.add_argument(
        "--prompt-sampling", choices=PROMPT_SAMPLING_MODES, default=None,
        help="multi (default, MedCoDi-M) or single (one prompt per step: the ablation)",
    )  # fmt: skip
    parser.add_argument("--guidance-dropout", type=float, default=None, help="default 0.15")
    return parser


def unet_file(run, view: str, mode: str):
    """The preset's file for the shipped (multi-prompt) UNet; a suffixed one for the ablation."""
    if mode == "multi":
        return run.weights_path(f"unet_{view}")
    return run.out / f"unet_{view}_{mode}.safetensors"


def make_loss_fn(scheduler, scale_factor: float, dropout: float, context_scale: float, mode: str, loss: str):
    criterion = F.l1_loss if loss == "l1" else F.mse_loss

    def loss_fn(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x0 = batch["latent"] * scale_factor
        noise = torch.randn_like(x0)
        timesteps = scheduler.sample_timesteps(x0)
        noisy = scheduler.add_noise(original_samples=x0, noise=noise, timesteps=timesteps)
        prompts = batch["prompts"]  # [B, M, D]
        mask = sample_prompt_masks(prompts.shape[0], prompts.shape[1], mode).to(prompts.device)
        drop = torch.rand(prompts.shape[0], device=prompts.device) < dropout
        mask = mask * (~drop).float().unsqueeze(1)  # an all-zero mask combines to the zero context
        context = to_context(combine(prompts, mask), context_scale)
        velocity = net(noisy, timesteps, context=context)
        return criterion(velocity.float(), x0 - noise)

    return loss_fn


def train(args: argparse.Namespace) -> dict:
    run = open_run(args)
    settings = stage_settings(run, KIND)
    mode = args.prompt_sampling or run.preset.section("conditioning").get("prompt_sampling", "multi")
    dropout = float(args.guidance_dropout if args.guidance_dropout is not None else settings.get("guidance_dropout", 0.15))
    if not 0.0 <= dropout < 1.0:
        raise TrainingError(f"--guidance-dropout must be in [0, 1), got {dropout}.")
    view = args.view
    timer = StageTimer()
    name = f"ldm_{view}" + ("" if mode == "multi" else f"_{mode}")
    folder = stage_dir(run, name, f"{KIND}_{view}_{mode}", {"settings": settings, "prompt_sampling": mode})
    info = setup_device(args)
    latents = latent_cache(run, info.device)[view]
    embeds = embedding_cache(run, info.device)
    train_index = run.train_index
    scale_factor = float(1.0 / latents[train_index].std().clamp(min=1e-6))
    inputs = PROMPTS_FOR[view]
    prompts = torch.stack([embeds[m] for m in inputs], dim=1)  # [N, M, D]
    unet = build_unet(run.preset.section("unet"), 2, use_flash_attention=False)
    scheduler = build_scheduler(run.preset.section("scheduler"), 2)
    config = cxr_config(run.preset)
    trainer = Trainer(unet, "unet", folder, info, loop_settings(settings, args))
    start = trainer.maybe_resume()

    def fetch(pos: torch.Tensor) -> dict[str, torch.Tensor]:
        idx = train_index[pos]
        return {"latent": latents[idx], "prompts": prompts[idx]}

    loss_fn = make_loss_fn(scheduler, scale_factor, dropout, config.context_scale, mode, settings.get("loss", "mse"))
    result = trainer.fit(random_batches(len(train_index), int(settings["batch_size"]), fetch), loss_fn)
    path = export_fp16(
        unet.state_dict(), unet_file(run, view, mode), run, f"unet_{view}",
        {"step": trainer.step, "scale_factor": repr(scale_factor), "prompt_sampling": mode, "prompts": ",".join(inputs)},
    )  # fmt: skip
    return summary_line(
        run, f"{KIND}_{view}", result, resumed_from=start, weights=str(path), seconds=timer.seconds(), cpu_seconds=timer.cpu_seconds(),
        scale_factor=scale_factor, prompt_sampling=mode,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
