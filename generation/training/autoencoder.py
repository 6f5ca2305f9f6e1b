"""Train the KL autoencoder of a small preset (the demo); report2ct uses the pretrained MAISI one.

    python -m generation.training.autoencoder --data DIR --out OUT [--preset demo] [--resume]
    torchrun --nproc_per_node=2 -m generation.training.autoencoder --data DIR --out OUT

Loss: L1 reconstruction + a small KL term (MAISI also adds perceptual and adversarial losses;
those need pretrained feature networks that are not shipped, so they are left out here).
Writes OUT/autoencoder.safetensors, OUT/config.json, OUT/loss_log.jsonl, OUT/checkpoints/.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from generation.networks import build_autoencoder
from generation.networks.layout import zyx_to_xyz
from generation.training import distributed
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
from generation.training.data import VolumeDataset, read_training_cases
from generation.training.loop import LoopSettings, Trainer, infinite_batches

KIND = "autoencoder"


def build_parser() -> argparse.ArgumentParser:
    parser = base_parser("python -m generation.training.autoencoder", __doc__.splitlines()[0])
    parser.add_argument(
        "--kl-weight", type=float, default=None, help="KL loss weight (default 1e-6)"
    )
    parser.add_argument(
        "--patch", type=int, nargs=3, metavar=("Z", "Y", "X"), default=None,
        help="train on random crops of this size (voxels, z y x); default: the preset's "
        "training.autoencoder.patch_zyx, else whole volumes",
    )  # fmt: skip
    return parser


def random_crop(image: torch.Tensor, patch_xyz: tuple[int, int, int], generator: torch.Generator) -> torch.Tensor:
    """One random crop shared by the batch (image: [B, C, X, Y, Z]).

    The autoencoder is fully convolutional, so patches teach it the same local mapping at a
    fraction of the cost (MAISI trains its autoencoder on patches for the same reason).
    """
    starts = []
    for size, patch in zip(image.shape[2:], patch_xyz, strict=True):
        if patch > size:
            raise TrainingError(f"patch {patch} is larger than the volume axis {size}")
        starts.append(int(torch.randint(0, size - patch + 1, (1,), generator=generator)))
    (x0, y0, z0), (px, py, pz) = starts, patch_xyz
    return image[:, :, x0 : x0 + px, y0 : y0 + py, z0 : z0 + pz]


def kl_loss(z_mu: torch.Tensor, z_sigma: torch.Tensor) -> torch.Tensor:
    """KL(q(z|x) || N(0, I)) summed over latent voxels, averaged over the batch."""
    per_voxel = z_mu.pow(2) + z_sigma.pow(2) - torch.log(z_sigma.pow(2) + 1e-8) - 1
    return 0.5 * per_voxel.flatten(1).sum(1).mean()


def train(args: argparse.Namespace) -> dict:
    # Every check that can fail on user input runs before any model is built.
    preset = load_preset_for_training(args.preset)
    if not preset.section("training").get(KIND, {}).get("enabled", False):
        raise TrainingError(
            f"Preset {preset.name!r} uses a pretrained autoencoder (MAISI); training it here is "
            "disabled in the preset. Train the diffusion model with generation.training.ldm."
        )
    settings = training_settings(preset, KIND, args)
    kl_weight = (
        args.kl_weight if args.kl_weight is not None else float(settings.get("kl_weight", 1e-6))
    )
    cases = read_training_cases(args.data, args.extra_data)
    out = Path(args.out)
    distributed.check_device(args.device)
    prepare_out_dir(out, KIND, preset, args)

    info = distributed.setup(args.device)
    try:
        torch.manual_seed(args.seed + info.rank)
        if info.is_main:
            write_run_config(out, KIND, preset, args, {"settings": settings, "n_cases": len(cases)})
        dataset = VolumeDataset(cases, zyx_to_xyz(preset.output_shape_zyx), preset.hu_range)
        sampler = (
            torch.utils.data.DistributedSampler(dataset, shuffle=True, seed=args.seed)
            if info.distributed
            else torch.utils.data.RandomSampler(dataset)
        )
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=int(settings["batch_size"]), sampler=sampler,
            num_workers=args.num_workers, drop_last=len(dataset) >= int(settings["batch_size"]),
        )  # fmt: skip
        model = build_autoencoder(preset.section("autoencoder"), preset.spatial_dims)
        trainer = Trainer(
            model, "autoencoder", out, info,
            LoopSettings(
                max_steps=int(settings["max_steps"]), lr=float(settings["lr"]),
                lr_power=float(settings["lr_power"]), save_every=int(settings["save_every"]),
                log_every=args.log_every, resume=args.resume,
            ),
        )  # fmt: skip
        start = trainer.maybe_resume()
        patch_zyx = args.patch or settings.get("patch_zyx")
        patch_xyz = zyx_to_xyz(tuple(patch_zyx)) if patch_zyx else None
        crops = torch.Generator().manual_seed(args.seed + info.rank + start)

        def loss_fn(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
            image = batch["image"]
            if patch_xyz is not None:
                image = random_crop(image, patch_xyz, crops)
            reconstruction, z_mu, z_sigma = net(image)
            return F.l1_loss(reconstruction.float(), image) + kl_weight * kl_loss(
                z_mu.float(), z_sigma.float()
            )

        summary = trainer.fit(infinite_batches(loader, start), loss_fn)
        path = None
        if info.is_main:
            path = export_weights(
                out, preset.data["files"]["autoencoder"], model, preset,
                {"kind": KIND, "step": trainer.step},
                model_card(preset, KIND, args.data, len(cases), trainer.step),
            )  # fmt: skip
        distributed.barrier(info)
        return {
            "kind": KIND, "preset": preset.name, "resumed_from": start, **summary,
            "weights": str(path) if path else None, "out": str(out),
        }  # fmt: skip
    finally:
        distributed.cleanup(info)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
