"""Chest X-ray any-to-any benchmark on held-out phantom cases, following MedCoDi-M §3.5.

    .venv/bin/python benchmarks/bench_cxr.py --data var/phantom-cxr \
        [--ablation var/cxr-train/cxr-demo] [--json var/bench-cxr/result.json] [--markdown FILE]

Measured on the held-out split of the phantom data set (hash of the case id, as in training):

- Table 2 analogue — Fréchet distance (the FID formula) between real and generated images of each
  flow T->F, T->L, L->F, F->L, L+T->F, F+T->L, in the 64-d feature space of a small CNN trained
  here on the TRAINING split's real DRRs (the paper's XRV-DenseNet role). Reference row: real
  training vs real held-out images of the same count.
- Table 3 analogue — factual correctness of images: per-finding ROC AUC of that same independent
  classifier on the generated images against the labels of the case that prompted them (and on
  the real held-out images, the "Real Data" row).
- Tables 4-5 analogue — reports drafted from F, L and F+L: corpus BLEU-1..4 against the case's
  reference report, and F1 of the phantom's rule-based negation-aware labeler
  (generation.phantom.labeler) on the drafts against the case's radiograph labels.
- Multi-prompt ablation (MedCoDi vs MedCoDi-M): the image flows again with UNets trained with one
  prompt per step (``--ablation DIR`` holding unet_<view>_single.safetensors, from
  ``python -m generation.cxr.training ldm --view V --prompt-sampling single``).
- Table 6 analogue — coherence of two outputs generated together: cosine similarity of their
  shared-space embeddings, joint vs independent, for T->F+L, L->F+T and F->L+T.

Seeds are fixed (case i uses seed --seed + i); the evaluator network is trained with a fixed seed
and cached under --work. CPU, about 10 minutes for ~100 held-out cases.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from generation.cxr.data import load_images, read_cxr_cases, report_texts  # noqa: E402
from generation.cxr.joint import coherence  # noqa: E402
from generation.cxr.loading import build_cxr_pipeline  # noqa: E402
from generation.cxr.metrics import (  # noqa: E402
    corpus_bleu,
    f1_table,
    frechet_distance,
    mean_sd,
    per_label_auc,
)
from generation.cxr.modalities import REPORT, VIEWS  # noqa: E402
from generation.cxr.report_decoder import tokenize  # noqa: E402
from generation.networks import build_unet  # noqa: E402
from generation.phantom import FINDING_NAMES  # noqa: E402
from generation.phantom.labeler import label_vector  # noqa: E402
from generation.registry import load_preset  # noqa: E402
from generation.request import DEFAULT_GUIDANCE  # noqa: E402
from generation.weights_io import load_weights, read_metadata  # noqa: E402

IMAGE_FLOWS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("T→F", "frontal", (REPORT,)),
    ("T→L", "lateral", (REPORT,)),
    ("L→F", "frontal", ("lateral",)),
    ("F→L", "lateral", ("frontal",)),
    ("L+T→F", "frontal", ("lateral", REPORT)),
    ("F+T→L", "lateral", ("frontal", REPORT)),
)
REPORT_FLOWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("F→T", ("frontal",)), ("L→T", ("lateral",)), ("F+L→T", ("frontal", "lateral")),
)  # fmt: skip
PAIR_FLOWS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("T→F+L", (REPORT,), ("frontal", "lateral")),
    ("L→F+T", ("lateral",), ("frontal", REPORT)),
    ("F→L+T", ("frontal",), ("lateral", REPORT)),
)
SHORT = {
    "pleural_effusion": "Eff.", "pneumothorax": "Ptx.", "lung_nodule": "Nod.", "lung_mass": "Mass",
    "consolidation": "Cnsl.", "ground_glass_opacity": "GGO", "atelectasis": "Atl.", "emphysema": "Emph.",
    "cardiomegaly": "Cmgl.", "pericardial_effusion": "PcE.",
}  # fmt: skip


class Evaluator(nn.Module):
    """Independent CXR classifier + feature extractor (not the generator's image encoder)."""

    def __init__(self, n_labels: int, width: int = 32, features: int = 64) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = [1, width, width * 2, width * 2, width * 4]
        for c_in, c_out in zip(channels, channels[1:], strict=False):
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
        self.body = nn.Sequential(*layers)  # 64 -> 4
        self.neck = nn.Sequential(nn.Flatten(), nn.Linear(channels[-1] * 16, features), nn.ReLU())
        self.view = nn.Embedding(2, features)
        self.head = nn.Linear(features, n_labels)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        return self.neck(self.body(images * 2.0 - 1.0))

    def forward(self, images: torch.Tensor, view: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images) + self.view(view))


def train_evaluator(images: dict[str, torch.Tensor], labels: np.ndarray, work: Path, key: str, steps: int) -> Evaluator:
    from safetensors.torch import load_file, save_file

    net = Evaluator(labels.shape[1])
    path = work / f"evaluator_{key}.safetensors"
    if path.is_file():
        net.load_state_dict(load_file(str(path)))
        return net.eval()
    torch.manual_seed(1234)
    x = torch.cat([images[v] for v in VIEWS])
    v = torch.cat([torch.full((len(images[view]),), i, dtype=torch.long) for i, view in enumerate(VIEWS)])
    y = torch.from_numpy(np.concatenate([labels, labels])).float()
    pos = y.mean(0).clamp(min=0.01)
    criterion = nn.BCEWithLogitsLoss(pos_weight=((1 - pos) / pos).clamp(max=20.0))
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=2e-3, total_steps=steps)
    net.train()
    for step in range(steps):
        idx = torch.randint(len(x), (64,))
        shift = torch.randint(-2, 3, (2,)).tolist()  # small shifts only: laterality must survive
        batch = torch.roll(x[idx], shifts=shift, dims=(2, 3))
        loss = criterion(net(batch, v[idx]), y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 200 == 0:
            print(f"  evaluator step {step}: loss {loss.item():.4f}", file=sys.stderr)
    work.mkdir(parents=True, exist_ok=True)
    save_file(net.state_dict(), str(path))
    return net.eval()


@torch.no_grad()
def evaluate_images(net: Evaluator, images: torch.Tensor, view: str) -> tuple[np.ndarray, np.ndarray]:
    """(features [N, 64], label probabilities [N, L])."""
    feats, probs = [], []
    vid = torch.full((1,), VIEWS.index(view), dtype=torch.long)
    for i in range(0, len(images), 128):
        x = images[i : i + 128]
        f = net.features(x)
        feats.append(f.numpy())
        probs.append(torch.sigmoid(net.head(f + net.view(vid.expand(len(x))))).numpy())
    return np.concatenate(feats), np.concatenate(probs)


def generate_images(pipe, embeds, view, prompts, seeds, steps, guidance, chunk) -> torch.Tensor:
    out = []
    for i in range(0, len(seeds), chunk):
        part = {m: embeds[m][i : i + chunk] for m in prompts}
        result = pipe.run_batch(part, (view,), seeds[i : i + chunk], guidance, steps, joint=False)
        out.append(result.images[view].cpu())
    return torch.cat(out)


def fmt(value, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(args.threads)
    tic = time.perf_counter()
    cases = read_cxr_cases(args.data)
    train = [c for c in cases if c.split == "train"]
    test = [c for c in cases if c.split == "test"][: args.max_cases]
    if len(test) < 10:
        raise SystemExit(f"only {len(test)} held-out cases in {args.data}; need at least 10")
    preset = load_preset(args.preset)
    loaded = build_cxr_pipeline(preset, args.weights_dir, "cpu")
    pipe = loaded.pipeline
    size = pipe.config.image_size
    names = list(FINDING_NAMES)
    labels_test = np.array([[c.labels.get(n, 0) for n in names] for c in test])
    labels_train = np.array([[c.labels.get(n, 0) for n in names] for c in train])
    print(f"{len(train)} train / {len(test)} held-out cases; loading images", file=sys.stderr)
    real_test = load_images(test, size)
    real_train = load_images(train, size)
    key = f"{len(train)}_{abs(hash(tuple(c.case_id for c in train))) % 10**8}_{args.evaluator_steps}"
    evaluator = train_evaluator(real_train, labels_train, Path(args.work), key, args.evaluator_steps)
    seeds = [args.seed + i for i in range(len(test))]
    texts = report_texts(test)
    with torch.inference_mode():
        embeds = pipe.encode_inputs(texts, {v: real_test[v] for v in VIEWS})
    results: dict = {"n_train": len(train), "n_test": len(test), "steps": args.steps, "guidance": args.guidance}

    # Reference rows: the real held-out images.
    reference = {}
    rng = np.random.default_rng(0)
    for view in VIEWS:
        feats_test, probs = evaluate_images(evaluator, real_test[view], view)
        pick = rng.choice(len(train), size=min(len(test), len(train)), replace=False)
        feats_train, _ = evaluate_images(evaluator, real_train[view][pick], view)
        reference[view] = {
            "fd_real_train_vs_test": frechet_distance(feats_train, feats_test),
            "auc": per_label_auc(labels_test, probs, names),
            "features": feats_test,
        }
    results["real"] = {v: {k: r[k] for k in ("fd_real_train_vs_test", "auc")} for v, r in reference.items()}

    def image_flows(tag: str) -> dict:
        out = {}
        for flow, view, prompts in IMAGE_FLOWS:
            t0 = time.perf_counter()
            with torch.inference_mode():
                images = generate_images(pipe, embeds, view, prompts, seeds, args.steps, args.guidance, args.chunk)
            feats, probs = evaluate_images(evaluator, images, view)
            out[flow] = {
                "fd": frechet_distance(reference[view]["features"], feats),
                "auc": per_label_auc(labels_test, probs, names),
                "seconds": round(time.perf_counter() - t0, 1),
            }
            print(f"  {tag} {flow}: FD {out[flow]['fd']:.2f}, AUC {fmt(out[flow]['auc']['macro'])}", file=sys.stderr)
        return out

    results["images"] = image_flows("MedCoDi-M")
    if args.ablation:
        originals = dict(pipe.parts.unets)
        for view in VIEWS:
            path = Path(args.ablation) / f"unet_{view}_single.safetensors"
            unet = build_unet(preset.section("unet"), 2, use_flash_attention=False)
            load_weights(unet, path, preset.name, f"unet_{view}_single")
            pipe.parts.unets[view] = unet.eval()
            scale = read_metadata(path).get("scale_factor")
            if scale is not None and abs(float(scale) - pipe.config.scale_factors[view]) > 1e-6:
                print(f"  note: ablation {view} scale factor {scale} differs", file=sys.stderr)
        results["images_single_prompt"] = image_flows("single-prompt")
        pipe.parts.unets.update(originals)

    # Reports.
    refs = [tokenize(t) for t in texts]
    true_labels_text = np.array([label_vector(t) for t in texts])
    results["reports"] = {"reference_labeler": f1_table(labels_test, true_labels_text, names)}
    for flow, prompts in REPORT_FLOWS:
        with torch.inference_mode():
            drafted = pipe.run_batch({m: embeds[m] for m in prompts}, (REPORT,), seeds, args.guidance, args.steps).reports
        hyp_texts = [f"{r['findings']} {r['impression']}" for r in drafted]
        results["reports"][flow] = {
            "bleu": corpus_bleu(refs, [tokenize(t) for t in hyp_texts]),
            "labeler_f1": f1_table(labels_test, np.array([label_vector(t) for t in hyp_texts]), names),
            "example": {"reference": texts[0], "generated": hyp_texts[0]},
        }

    # Joint vs independent coherence (Table 6).
    results["coherence"] = {}
    for flow, prompts, outputs in PAIR_FLOWS:
        row = {}
        for mode in ("independent", "joint"):
            sims = []
            for i in range(0, len(seeds), args.chunk):
                part = {m: embeds[m][i : i + args.chunk] for m in prompts}
                with torch.inference_mode():
                    res = pipe.run_batch(part, outputs, seeds[i : i + args.chunk], args.guidance, args.steps, joint=mode == "joint")
                a, b = (res.embeddings[o] for o in outputs)
                sims.append(coherence(a, b).cpu().numpy())
            row[mode] = mean_sd(np.concatenate(sims))
        results["coherence"][flow] = row
        print(f"  coherence {flow}: independent {row['independent']['mean']:.3f}, joint {row['joint']['mean']:.3f}", file=sys.stderr)

    results["environment"] = {
        "preset": preset.model_version, "weights_sha256": loaded.weights_sha256, "torch": torch.__version__,
        "threads": args.threads, "machine": platform.machine(), "python": platform.python_version(),
    }  # fmt: skip
    results["seconds"] = round(time.perf_counter() - tic, 1)
    return results


def markdown(results: dict) -> str:
    names = list(FINDING_NAMES)
    lines = [
        f"Held-out phantom cases: {results['n_test']} (trained on {results['n_train']}); "
        f"{results['steps']} RFlow steps, guidance {results['guidance']}; {results['seconds']:.0f} s.",
        "",
        "**Fréchet distance** (features of a CNN trained on real phantom DRRs; lower is better)",
        "",
        "| model | " + " | ".join(f for f, _, _ in IMAGE_FLOWS) + " |",
        "|---|" + "---|" * len(IMAGE_FLOWS),
    ]
    real = results["real"]
    lines.append("| real train vs real test | " + " | ".join(fmt(real[v]["fd_real_train_vs_test"]) for _, v, _ in IMAGE_FLOWS) + " |")
    if "images_single_prompt" in results:
        lines.append("| single-prompt (MedCoDi ablation) | " + " | ".join(fmt(results["images_single_prompt"][f]["fd"]) for f, _, _ in IMAGE_FLOWS) + " |")
    lines.append("| multi-prompt (MedCoDi-M) | " + " | ".join(fmt(results["images"][f]["fd"]) for f, _, _ in IMAGE_FLOWS) + " |")
    lines += ["", "**Per-finding AUC of the independent classifier on generated images** (– = no positive held-out case)", ""]
    lines.append("| flow | model | " + " | ".join(SHORT[n] for n in names) + " | macro |")
    lines.append("|---|---|" + "---|" * (len(names) + 1))
    for view in VIEWS:
        auc = real[view]["auc"]
        lines.append(f"| real {view} | – | " + " | ".join(fmt(auc["per_label"][n]) for n in names) + f" | {fmt(auc['macro'])} |")
    for flow, _, _ in IMAGE_FLOWS:
        variants = [("MedCoDi-M", results["images"])]
        if "images_single_prompt" in results:
            variants.insert(0, ("single-prompt", results["images_single_prompt"]))
        for label, table in variants:
            auc = table[flow]["auc"]
            lines.append(f"| {flow} | {label} | " + " | ".join(fmt(auc["per_label"][n]) for n in names) + f" | {fmt(auc['macro'])} |")
    lines += ["", "**Reports**: BLEU-1..4 and labeler F1 against the case's radiograph labels", ""]
    lines.append("| flow | BLEU-1 | BLEU-2 | BLEU-3 | BLEU-4 | F1 micro | F1 macro | F1 weighted |")
    lines.append("|---|---|---|---|---|---|---|---|")
    ref = results["reports"]["reference_labeler"]
    lines.append(f"| reference report (labeler check) | – | – | – | – | {fmt(ref['micro'])} | {fmt(ref['macro'])} | {fmt(ref['weighted'])} |")
    for flow, _ in REPORT_FLOWS:
        r = results["reports"][flow]
        b, f1 = r["bleu"], r["labeler_f1"]
        lines.append(f"| {flow} | {b['bleu1']:.2f} | {b['bleu2']:.2f} | {b['bleu3']:.2f} | {b['bleu4']:.2f} | {fmt(f1['micro'])} | {fmt(f1['macro'])} | {fmt(f1['weighted'])} |")
    lines += ["", "**Per-finding labeler F1 of drafted reports**", ""]
    lines.append("| flow | " + " | ".join(SHORT[n] for n in names) + " |")
    lines.append("|---|" + "---|" * len(names))
    for flow, _ in REPORT_FLOWS:
        per = results["reports"][flow]["labeler_f1"]["per_label"]
        lines.append(f"| {flow} | " + " | ".join(fmt(per[n]) for n in names) + " |")
    lines += ["", "**Coherence of two outputs** (cosine similarity in the shared space, mean ± SD)", ""]
    lines.append("| input → outputs | independent | joint |")
    lines.append("|---|---|---|")
    for flow, row in results["coherence"].items():
        ind, joi = row["independent"], row["joint"]
        lines.append(f"| {flow} | {ind['mean']:.3f} ± {ind['sd']:.3f} | {joi['mean']:.3f} ± {joi['sd']:.3f} |")
    return "\n".join(lines) + "\n"


def headline(results: dict) -> str:
    """A short metrics summary for the model card."""
    img, rep, coh = results["images"], results["reports"], results["coherence"]
    fds = ", ".join(f"{f} {img[f]['fd']:.2f}" for f, _, _ in IMAGE_FLOWS)
    real = ", ".join(f"{v} {results['real'][v]['fd_real_train_vs_test']:.2f}" for v in VIEWS)
    aucs = ", ".join(f"{f} {fmt(img[f]['auc']['macro'])}" for f, _, _ in IMAGE_FLOWS)
    eff = ", ".join(f"{f} {fmt(img[f]['auc']['per_label']['pleural_effusion'])}" for f, _, _ in IMAGE_FLOWS)
    bleu = ", ".join(f"{f} {rep[f]['bleu']['bleu1']:.2f}/{rep[f]['bleu']['bleu4']:.2f}" for f, _ in REPORT_FLOWS)
    f1 = ", ".join(f"{f} {fmt(rep[f]['labeler_f1']['micro'])}" for f, _ in REPORT_FLOWS)
    pairs = ", ".join(
        f"{f} {r['independent']['mean']:.3f} -> {r['joint']['mean']:.3f}" for f, r in coh.items()
    )
    lines = [
        f"Held-out phantom cases: {results['n_test']}; `python benchmarks/bench_cxr.py` "
        f"({results['steps']} steps, guidance {results['guidance']}). Full tables: BENCHMARKS.md.",
        "",
        f"- Fréchet distance (phantom-DRR CNN features): {fds} (real train vs real test: {real}).",
        f"- Macro AUC of an independent classifier on generated images: {aucs}; pleural effusion: {eff}.",
        f"- Reports BLEU-1/BLEU-4: {bleu}; labeler F1 (micro): {f1}.",
        f"- Coherence, independent -> joint: {pairs}.",
    ]
    if "images_single_prompt" in results:
        single = results["images_single_prompt"]
        lines.append(
            "- Single-prompt ablation FD: " + ", ".join(f"{f} {single[f]['fd']:.2f}" for f, _, _ in IMAGE_FLOWS) + "."
        )
    return "\n".join(lines)


def update_model_card(path: Path, summary: str) -> None:
    """Replace the card's "## Metrics" section (up to the next "## ") with ``summary``."""
    text = path.read_text()
    start = text.index("## Metrics")
    end = text.find("\n## ", start + 1)
    end = len(text) if end < 0 else end + 1
    path.write_text(text[:start] + "## Metrics\n" + summary + "\n\n" + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="phantom data set (cases.csv + cxr/)")
    parser.add_argument("--preset", default="cxr-demo")
    parser.add_argument("--weights-dir", default=None, help="weights root (default: RADSYNTH_WEIGHTS_DIR or shipped)")
    parser.add_argument("--ablation", default=None, help="directory with unet_<view>_single.safetensors")
    parser.add_argument("--max-cases", type=int, default=120)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE, help="CFG scale (default: the request default)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=64, help="cases per generation batch")
    parser.add_argument("--evaluator-steps", type=int, default=1500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", default="var/bench-cxr", help="cache of the evaluator network")
    parser.add_argument("--json", default=None, help="write the full results here")
    parser.add_argument("--markdown", default=None, help="write the tables here")
    parser.add_argument("--model-card", default=None, help="fill this MODEL_CARD.md's Metrics section")
    args = parser.parse_args(argv)
    results = run(args)
    table = markdown(results)
    print(table)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(table)
    if args.model_card:
        update_model_card(Path(args.model_card), headline(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
