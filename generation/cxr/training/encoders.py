"""Stage 1: the shared latent space (MedCoDi-M §2.1, §3.2.1).

    python -m generation.cxr.training encoders --data DIR --out RUN [--resume]

One image encoder for both views and a text head over the frozen sentence encoder's token
states are trained with the symmetric InfoNCE loss and a learnable temperature on the three
pairings of a case: frontal-report, lateral-report and frontal-lateral (the pairwise "bridging"
rounds of the paper, summed per step). Cases with identical report text count as positives of
each other. Images get small random shifts, zooms and contrast changes, never flips (a flip
would swap the patient's left and right).

Reports are augmented as well: each step a case's text is its full report, its impression, its
findings, or a random subset of its sentences (the frozen encoder runs on the drawn texts), so
that a user's one-line prompt ("Large left pleural effusion.") lands where the full report of
such a case lands. Without this the head only ever sees complete phantom reports, and a short
prompt loses its laterality. Writes RUN/shared_space.safetensors and the embedding cache (full
reports) the later stages condition on.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence

import torch
import torch.nn.functional as F

from generation.cxr.contrastive import info_nce, same_text_mask
from generation.cxr.data import CXRCase, report_texts
from generation.cxr.encoders import SharedSpace, TextBackbone, report_text
from generation.cxr.loading import text_encoder_width
from generation.cxr.training.common import (
    StageTimer,
    embedding_cache,
    export_fp16,
    image_cache,
    load_backbone,
    loop_settings,
    open_run,
    random_batches,
    setup_device,
    stage_dir,
    stage_parser,
    stage_settings,
    summary_line,
)
from generation.training.common import run_main
from generation.training.loop import Trainer

KIND = "encoders"


def build_parser() -> argparse.ArgumentParser:
    return stage_parser("python -m generation.cxr.training encoders", __doc__.splitlines()[0])


def augment(images: torch.Tensor) -> torch.Tensor:
    """Per-image shift (±4%), zoom (±5%) and contrast/gamma jitter; no flips, no rotations
    beyond what the affine grid's zoom implies."""
    b = images.shape[0]
    scale = 1.0 + (torch.rand(b) - 0.5) * 0.1
    shift = (torch.rand(b, 2) - 0.5) * 0.08
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0] = scale
    theta[:, 1, 1] = scale
    theta[:, :, 2] = shift
    grid = F.affine_grid(theta.to(images), list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)
    gamma = torch.exp((torch.rand(b, 1, 1, 1) - 0.5) * 0.3).to(images)
    gain = (1.0 + (torch.rand(b, 1, 1, 1) - 0.5) * 0.2).to(images)
    return (out.clamp(0, 1) ** gamma * gain).clamp(0, 1)


_SENTENCE = re.compile(r"(?<=[.!?])\s+")
#: Probabilities of the text variants: full report, impression, findings, sentence subset.
TEXT_VARIANTS: tuple[float, float, float, float] = (0.4, 0.2, 0.1, 0.3)


def text_variant(findings: str, impression: str, draw: torch.Tensor) -> str:
    """One augmented report text; ``draw`` holds uniform random numbers (one per sentence + 2).

    The sentence-subset variant always keeps at least one impression sentence: the impression
    names the case's findings, and a subset of boilerplate alone ("Heart size is normal.") would
    pair a normal-sounding text with an abnormal image.
    """
    u, cut = float(draw[0]), torch.tensor(TEXT_VARIANTS).cumsum(0).tolist()
    if u < cut[0]:
        return report_text(findings, impression)
    if u < cut[1] and impression.strip():
        return impression.strip()
    if u < cut[2] and findings.strip():
        return findings.strip()
    f_sents = [s for s in _SENTENCE.split(findings.strip()) if s]
    i_sents = [s for s in _SENTENCE.split(impression.strip()) if s]
    coins = draw[1:].tolist()
    keep_f = [s for s, r in zip(f_sents, coins, strict=False) if r < 0.5]
    keep_i = [s for s, r in zip(i_sents, coins[len(f_sents) :], strict=False) if r < 0.5]
    anchor = i_sents or f_sents
    if not keep_i and anchor:
        pick = anchor[int(float(draw[-1]) * len(anchor)) % len(anchor)]
        keep_i = [pick] if pick not in keep_f else []
    return " ".join(keep_f + keep_i) or report_text(findings, impression)


def contrastive_loss(
    shared: torch.nn.Module,
    batch: dict[str, torch.Tensor],
    positives: torch.Tensor,
    backbone: TextBackbone,
    cases: list[CXRCase],
) -> torch.Tensor:
    model = shared.module if hasattr(shared, "module") else shared
    e_f = model.encode_image(augment(batch["frontal"]))
    e_l = model.encode_image(augment(batch["lateral"]))
    draws = torch.rand(len(batch["index"]), 64)
    texts = [
        text_variant(cases[i].findings, cases[i].impression, d)
        for i, d in zip(batch["index"].tolist(), draws, strict=True)
    ]
    states, mask = backbone.states(texts)
    e_t = model.encode_text_states(states.to(e_f.device), mask.to(e_f.device))
    scale = model.temperature()
    pos = positives[batch["index"]][:, batch["index"]]
    return (info_nce(e_f, e_t, scale, pos) + info_nce(e_l, e_t, scale, pos) + info_nce(e_f, e_l, scale, pos)) / 3


@torch.no_grad()
def retrieval_top1(emb: dict[str, torch.Tensor], index: torch.Tensor, texts: list[str]) -> dict[str, float]:
    """Held-out check: how often an image's nearest report is its own (or an identical text)."""
    if len(index) < 2:
        return {}
    same = same_text_mask([texts[i] for i in index.tolist()])
    out = {}
    for view in ("frontal", "lateral"):
        sims = emb[view][index] @ emb["report"][index].t()
        hit = same[torch.arange(len(index)), sims.argmax(dim=1)]
        out[f"{view}_to_report_top1"] = round(float(hit.float().mean()), 4)
    sims = emb["frontal"][index] @ emb["lateral"][index].t()
    out["frontal_to_lateral_top1"] = round(float((sims.argmax(dim=1) == torch.arange(len(index))).float().mean()), 4)
    return out


def train(args: argparse.Namespace) -> dict:
    run = open_run(args)
    settings = stage_settings(run, KIND)
    timer = StageTimer()
    folder = stage_dir(run, KIND, KIND, {"settings": settings, "n_cases": len(run.cases)})
    info = setup_device(args)
    images = image_cache(run)
    backbone, _ = load_backbone(run, info.device)
    texts = report_texts(run.cases)
    positives = same_text_mask(texts)
    train_index = run.train_index
    root = run.preset.weights_root(args.weights_dir)
    shared = SharedSpace.from_config(run.preset.section("shared_space"), text_encoder_width(run.preset, root))

    def fetch(pos: torch.Tensor) -> dict[str, torch.Tensor]:
        idx = train_index[pos]
        return {"frontal": images["frontal"][idx], "lateral": images["lateral"][idx], "index": idx}

    trainer = Trainer(shared, "shared_space", folder, info, loop_settings(settings, args))
    start = trainer.maybe_resume()
    positives = positives.to(info.device)
    result = trainer.fit(
        random_batches(len(train_index), int(settings["batch_size"]), fetch),
        lambda net, batch: contrastive_loss(net, batch, positives, backbone, run.cases),
    )
    path = export_fp16(
        shared.state_dict(), run.weights_path("shared_space"), run, "shared_space",
        {"step": trainer.step, "temperature": f"{shared.temperature.temperature:.5f}"},
    )  # fmt: skip
    emb = embedding_cache(run, info.device)
    test_index = torch.tensor([i for i, c in enumerate(run.cases) if c.split == "test"], dtype=torch.long)
    return summary_line(
        run, KIND, result, resumed_from=start, weights=str(path), seconds=timer.seconds(), cpu_seconds=timer.cpu_seconds(),
        temperature=round(shared.temperature.temperature, 5), heldout=retrieval_top1(emb, test_index, texts),
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
