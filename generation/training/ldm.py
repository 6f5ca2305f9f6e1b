"""Train the report-conditioned latent diffusion UNet (rectified flow), as in Report2CT.

    python -m generation.training.ldm --data DIR --out OUT [--preset demo] [--autoencoder FILE]
    torchrun --nproc_per_node=2 -m generation.training.ldm --data DIR --out OUT --preset report2ct

1. every case is encoded once: autoencoder latent MEAN, findings/impression context [2, D],
   voxel spacing after resampling (OUT/cache/);
2. scale factor = 1 / std of all latents;
3. the UNet learns the RFlow velocity x0 - noise at uniformly sampled timesteps, with the text
   context replaced by zeros with probability 0.15 (classifier-free guidance dropout), and
   the spacing as an input; Adam (lr 1e-4) with polynomial decay, fp16 autocast on CUDA.
Writes OUT/unet.safetensors (scale factor in its metadata), OUT/config.json,
OUT/loss_log.jsonl and resumable OUT/checkpoints/.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from generation.errors import MissingWeights
from generation.networks import build_autoencoder, build_scheduler, build_unet
from generation.networks.layout import zyx_to_xyz
from generation.pipelines.loading import load_text_encoders
from generation.training import distributed
from generation.training.checkpoint import latest_checkpoint
from generation.training.common import (
    TrainingError,
    base_parser,
    export_weights,
    load_preset_for_training,
    model_card,
    prepare_out_dir,
    run_main,
    training_settings,
    write_run_config,
)
from generation.training.data import read_training_cases
from generation.training.latent_cache import (
    LatentDataset,
    build_cache,
    cache_fingerprint,
    cache_paths,
    latent_moments,
    scale_factor_from_moments,
)
from generation.training.loop import LoopSettings, Trainer, infinite_batches
from generation.weights_io import file_sha256, load_weights, read_metadata

KIND = "ldm"


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("python -m generation.training.ldm", __doc__.splitlines()[0])
    parser.add_argument(
        "--autoencoder", default=None,
        help="autoencoder weights (default: <weights dir>/<preset>/autoencoder.safetensors)",
    )  # fmt: skip
    parser.add_argument(
        "--init-unet", default=None,
        help="start from these UNet weights (fine-tuning; their latent scale factor is kept)",
    )  # fmt: skip
    parser.add_argument("--guidance-dropout", type=float, default=None, help="default 0.15")
    parser.add_argument("--loss", choices=("l1", "mse"), default=None, help="default l1 (MAISI)")
    return parser


def _check_inputs(args: argparse.Namespace):
    preset = load_preset_for_training(args.preset)
    settings = training_settings(preset, KIND, args)
    if args.guidance_dropout is not None:
        settings["guidance_dropout"] = args.guidance_dropout
    if args.loss is not None:
        settings["loss"] = args.loss
    settings.setdefault("guidance_dropout", 0.15)
    settings.setdefault("loss", "l1")
    if not 0.0 <= float(settings["guidance_dropout"]) < 1.0:
        raise TrainingError(
            f"--guidance-dropout must be in [0, 1), got {settings['guidance_dropout']}."
        )
    cases = read_training_cases(args.data, args.extra_data)
    root = preset.weights_root(args.weights_dir)
    ae_path = (
        Path(args.autoencoder) if args.autoencoder else root / preset.data["files"]["autoencoder"]
    )
    if not ae_path.is_file():
        raise MissingWeights(str(ae_path), preset.name, role="autoencoder weights (--autoencoder)")
    if args.init_unet and not Path(args.init_unet).is_file():
        raise MissingWeights(
            str(args.init_unet), preset.name, role="initial UNet weights (--init-unet)"
        )
    for item in preset.expected_files(args.weights_dir):
        if item.kind == "dir" and not item.present:
            raise MissingWeights(str(item.path), preset.name, role=item.role)
    return preset, settings, cases, root, ae_path


def train(args: argparse.Namespace) -> dict:
    # Everything that can fail on user input is checked before a model is built.
    preset, settings, cases, root, ae_path = _check_inputs(args)
    out = Path(args.out)
    distributed.check_device(args.device)
    prepare_out_dir(out, KIND, preset, args)

    info = distributed.setup(args.device)
    try:
        torch.manual_seed(args.seed + info.rank)
        # 1. Encode the dataset once (each rank its share), with frozen AE + text encoders.
        autoencoder = build_autoencoder(preset.section("autoencoder"), preset.spatial_dims)
        load_weights(autoencoder, ae_path, preset.name, "autoencoder")
        text_encoder, encoder_files, _ = load_text_encoders(preset, root)
        text_encoder.to(info.device)
        fingerprint = cache_fingerprint(
            [file_sha256(ae_path), *(f"{n}:{file_sha256(p)}" for n, p in encoder_files),
             str(preset.output_shape_zyx), str(preset.hu_range), f"context:{text_encoder.context_length}"]
        )  # fmt: skip
        cache_dir = out / "cache"
        build_cache(
            cases[info.rank :: info.world_size], cache_dir, fingerprint, autoencoder, text_encoder,
            zyx_to_xyz(preset.output_shape_zyx), preset.hu_range, info.device, info.is_main,
        )  # fmt: skip
        del autoencoder, text_encoder
        if info.device.type == "cuda":
            torch.cuda.empty_cache()
        distributed.barrier(info)
        paths = cache_paths(cases, cache_dir, require=True)
        # 2. Scale factor from all latents (a resumed run keeps the one it started with).
        scale_factor = scale_factor_from_moments(*latent_moments(paths))
        init_metadata = read_metadata(Path(args.init_unet)) if args.init_unet else {}
        if "scale_factor" in init_metadata:  # fine-tuning keeps the latent scale it learned with
            scale_factor = float(init_metadata["scale_factor"])
        previous = latest_checkpoint(out) if args.resume else None
        if previous is not None:
            saved = json.loads((previous / "state.json").read_text())["extra"]
            scale_factor = float(saved.get("scale_factor", scale_factor))
        if info.is_main:
            write_run_config(
                out, KIND, preset, args,
                {"settings": settings, "n_cases": len(cases), "scale_factor": scale_factor,
                 "autoencoder": str(ae_path), "cache_fingerprint": fingerprint,
                 "init_unet": str(args.init_unet) if args.init_unet else None},
            )  # fmt: skip
        # 3. Train the UNet.
        dataset = LatentDataset(paths)
        batch_size = int(settings["batch_size"])
        sampler = (
            torch.utils.data.DistributedSampler(dataset, shuffle=True, seed=args.seed)
            if info.distributed
            else torch.utils.data.RandomSampler(dataset)
        )
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=batch_size, sampler=sampler, num_workers=args.num_workers,
            drop_last=len(dataset) >= batch_size,
        )  # fmt: skip
        unet = build_unet(preset.section("unet"), preset.spatial_dims,
                          use_flash_attention=None if info.device.type == "cuda" else False)  # fmt: skip
        if args.init_unet:
            load_weights(unet, Path(args.init_unet), preset.name, "initial UNet (--init-unet)")
        scheduler = build_scheduler(preset.section("scheduler"), preset.spatial_dims)
        trainer = Trainer(
            unet, "unet", out, info,
            LoopSettings(
                max_steps=int(settings["max_steps"]), lr=float(settings["lr"]),
                lr_power=float(settings["lr_power"]), save_every=int(settings["save_every"]),
                log_every=args.log_every, resume=args.resume,
            ),
        )  # fmt: skip
        start = trainer.maybe_resume()
        loss_fn = make_loss_fn(
            scheduler, scale_factor, float(settings["guidance_dropout"]),
            float(preset.section("conditioning").get("spacing_input_scale", 1.0)), settings["loss"],
        )  # fmt: skip
        summary = trainer.fit(
            infinite_batches(loader, start), loss_fn, extra={"scale_factor": scale_factor}
        )
        path = None
        if info.is_main:
            path = export_weights(
                out, preset.data["files"]["unet"], unet, preset,
                {"kind": KIND, "step": trainer.step, "scale_factor": repr(scale_factor)},
                model_card(preset, KIND, args.data, len(cases), trainer.step,
                           f"Latent scale factor: {scale_factor:.6g}."),
            )  # fmt: skip
        distributed.barrier(info)
        return {
            "kind": KIND, "preset": preset.name, "resumed_from": start, **summary,
            "scale_factor": scale_factor, "weights": str(path) if path else None, "out": str(out),
        }  # fmt: skip
    finally:
        distributed.cleanup(info)


def make_loss_fn(scheduler, scale_factor: float, dropout: float, spacing_scale: float, kind: str):
    """RFlow velocity loss with guidance dropout on the text context."""
    criterion = F.l1_loss if kind == "l1" else F.mse_loss

    def loss_fn(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x0 = batch["latent"] * scale_factor
        noise = torch.randn_like(x0)
        timesteps = scheduler.sample_timesteps(x0)
        noisy = scheduler.add_noise(original_samples=x0, noise=noise, timesteps=timesteps)
        context = batch["context"]
        drop = torch.rand(context.shape[0], device=context.device) < dropout
        context = torch.where(drop[:, None, None], torch.zeros_like(context), context)
        velocity = net(
            noisy, timesteps, context=context, spacing_tensor=batch["spacing"] * spacing_scale
        )
        return criterion(velocity.float(), x0 - noise)

    return loss_fn


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
