"""Train a preset's own report head: report text -> a space where the stated facts are apart.

    python -m generation.training.report_head --data DIR [--extra-data DIR ...] --out FILE
        [--preset demo] [--steps 2000] [--batch-size 64] [--lr 1e-3] [--seed 0]

The head (``generation.text.report_space.ReportHead``) reads the frozen text encoder's token
states and is trained through a linear probe to predict what the report states
(``generation.phantom.facts``: finding, side, size, lobe), with binary cross-entropy. Targets
come from each case's ``parameters`` in ``cases.csv``, never from the text, so the head has to
read the report to get them right. Reports are seen as whole sections and as the short reports
people type: the sentences of the findings that state a finding (by the rule-based labeler) plus
a few normal statements, so "Large right pleural effusion." lands where the long report of a
right effusion does; and normal statements alone, which state no finding (all-zero target). Every tenth case of ``--data`` is held out; its accuracy is printed and
stored in the weights' metadata. The LDM is then trained with the head frozen
(``python -m generation.training.ldm``), exactly as with any other text encoder.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from generation.phantom.facts import FACT_NAMES, report_facts
from generation.phantom.labeler import label_report, split_sentences
from generation.pipelines.loading import build_report_head, load_text_encoders
from generation.training.common import TrainingError, load_preset_for_training, run_main
from generation.weights_io import save_weights

#: Every HOLDOUT_EVERY-th case of --data is held out from training.
HOLDOUT_EVERY = 10
#: Prompts whose report-space cosine the summary reports (laterality, the issue's example).
PROBE_PAIR = ("Large right pleural effusion. No pneumothorax.", "Large left pleural effusion. No pneumothorax.")


@dataclass(frozen=True)
class FactCase:
    case_id: str
    findings: str
    impression: str
    facts: np.ndarray


def read_fact_cases(data_dir: str | Path) -> list[FactCase]:
    """Cases of ``DIR/cases.csv`` with their fact vectors; clear errors for unusable data."""
    table = Path(data_dir) / "cases.csv"
    if not table.is_file():
        raise TrainingError(f"{table} not found: --data must be a phantom data set (python -m generation.phantom).")
    with table.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"case_id", "findings", "impression", "parameters"} - set(reader.fieldnames or [])
        if missing:
            raise TrainingError(
                f"{table} lacks column(s) {', '.join(sorted(missing))}: the report head learns the facts "
                "in a phantom case's parameters, so it needs a phantom data set."
            )
        rows = list(reader)
    if not rows:
        raise TrainingError(f"{table} has no cases.")
    cases = []
    for line, row in enumerate(rows, start=2):
        try:
            facts = report_facts(row["parameters"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TrainingError(f"{table} line {line}: unreadable parameters ({exc}).") from exc
        cases.append(FactCase(row["case_id"], row["findings"].strip(), row["impression"].strip(), facts))
    return cases


def short_report(findings: str, rng: random.Random) -> str:
    """The sentences that state a finding plus one to three others, in report order."""
    sentences = split_sentences(findings)
    stating = [i for i, s in enumerate(sentences) if any(label_report(s).values())]
    others = [i for i in range(len(sentences)) if i not in stating]
    keep = set(stating) | set(rng.sample(others, min(len(others), rng.randint(1, 3))))
    return " ".join(sentences[i] for i in sorted(keep))


def normal_statements(findings: str, rng: random.Random) -> str:
    """One to three sentences that state no finding ("No pleural effusion."): a text that
    states nothing, whatever the case has, so its target is all zeros (negation is learnt)."""
    others = [s for s in split_sentences(findings) if not any(label_report(s).values())]
    return " ".join(rng.sample(others, min(len(others), rng.randint(1, 3))))


def section_texts(case: FactCase, rng: random.Random) -> list[tuple[str, np.ndarray]]:
    """(text, facts it states) one case teaches the head: both sections whole, three short
    reports, and a few normal statements."""
    stating = [case.findings, case.impression, *(short_report(case.findings, rng) for _ in range(3))]
    texts = [(t, case.facts) for t in dict.fromkeys(stating) if t]
    nothing = normal_statements(case.findings, rng)
    if nothing:
        texts.append((nothing, np.zeros_like(case.facts)))
    return texts
def encode_states(encoder, texts: list[str], batch_size: int = 32) -> list[torch.Tensor]:
    """Each text's unpadded token states (float16, [T_i, width]), encoded once, in batches of
    similar length (less padding)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    states: list[torch.Tensor] = [torch.empty(0)] * len(texts)
    for start in tqdm(range(0, len(texts), batch_size), desc="encode reports", dynamic_ncols=True):
        batch = order[start : start + batch_size]
        hidden, mask = encoder.token_states([texts[i] for i in batch])
        for i, h, m in zip(batch, hidden.cpu(), mask.cpu(), strict=True):
            states[i] = h[: int(m.sum())].half()
    return states


def length_batch(by_length: list[int], size: int, rng: random.Random) -> list[int]:
    """A random run of texts of similar length: whole findings sections (~200 tokens) and
    short reports (~20) in one batch would pad the short ones tenfold."""
    start = rng.randrange(max(1, len(by_length) - size + 1))
    return by_length[start : start + size]


def collate(states: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    length = max(s.shape[0] for s in states)
    batch = torch.zeros(len(states), length, states[0].shape[1])
    mask = torch.zeros(len(states), length, dtype=torch.long)
    for i, s in enumerate(states):
        batch[i, : s.shape[0]] = s.float()
        mask[i, : s.shape[0]] = 1
    return batch, mask


@torch.no_grad()
def fact_accuracy(head, states: list[torch.Tensor], targets: torch.Tensor) -> dict[str, float]:
    """Held-out accuracy at p = 0.5: macro over facts that occur, and whole-report exact match."""
    head.eval()
    logits = torch.cat([head(*collate(states[i : i + 128])) for i in range(0, len(states), 128)])
    pred = (logits > 0).float()
    occurring = targets.sum(0) > 0
    per_fact = (pred == targets).float().mean(0)
    positives = (pred * targets).sum(0) / targets.sum(0).clamp(min=1)
    return {
        "macro_accuracy": float(per_fact[occurring].mean()),
        "macro_recall": float(positives[occurring].mean()),
        "exact_match": float((pred == targets).all(1).float().mean()),
        "n_texts": len(states),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m generation.training.report_head", description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="phantom data set (cases.csv with parameters)")
    p.add_argument("--extra-data", action="append", default=[], metavar="DIR", help="more training cases (repeatable)")
    p.add_argument("--out", required=True, help="weights file to write (.safetensors)")
    p.add_argument("--preset", default="demo", help="preset whose conditioning.report_space this trains")
    p.add_argument("--weights-dir", default=None, help="weights root holding the text encoders")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    return p


def check_args(args: argparse.Namespace) -> None:
    if args.steps < 1 or args.batch_size < 1:
        raise TrainingError(f"--steps and --batch-size must be at least 1 (got {args.steps}, {args.batch_size}).")
    if not args.lr > 0:
        raise TrainingError(f"--lr must be positive, got {args.lr}.")
    if not str(args.out).endswith(".safetensors"):
        raise TrainingError(f"--out must name a .safetensors file, got {args.out!r}.")


def run(args: argparse.Namespace) -> dict:
    check_args(args)
    # 1. Data first: a bad directory fails before the text encoder is loaded.
    preset = load_preset_for_training(args.preset)
    if not (preset.section("conditioning").get("report_space") or {}).get("file"):
        raise TrainingError(f"preset {preset.name!r} has no own report head (conditioning.report_space.file).")
    cases = read_fact_cases(args.data)
    held = cases[::HOLDOUT_EVERY]
    train = [c for i, c in enumerate(cases) if i % HOLDOUT_EVERY] + [c for d in args.extra_data for c in read_fact_cases(d)]
    rng, started = random.Random(args.seed), time.perf_counter()
    torch.manual_seed(args.seed)

    # 2. Every text the head will see, encoded once by the frozen encoder.
    encoders, _, _ = load_text_encoders(preset, preset.weights_root(args.weights_dir), report_space=False)
    head, encoder = build_report_head(preset, list(encoders.encoders))
    split = {}
    for name, group in (("train", train), ("held", held)):
        texts, targets = [], []
        for case in group:
            for text, facts in section_texts(case, rng):
                texts.append(text)
                targets.append(facts)
        split[name] = (encode_states(encoder, texts), torch.from_numpy(np.stack(targets)))

    # 3. Binary cross-entropy through the probe, Adam with cosine decay.
    states, targets = split["train"]
    optimiser = torch.optim.Adam(head.parameters(), lr=args.lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda s: 0.5 * (1 + math.cos(math.pi * s / args.steps)))
    losses = []
    head.train()
    by_length = sorted(range(len(states)), key=lambda i: states[i].shape[0])
    for _ in tqdm(range(args.steps), desc="report head", dynamic_ncols=True):
        pick = length_batch(by_length, args.batch_size, rng)
        loss = F.binary_cross_entropy_with_logits(head(*collate([states[i] for i in pick])), targets[pick])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        schedule.step()
        losses.append(loss.item())

    # 4. Held-out accuracy, the laterality cosine, and the weights with what they were made of.
    metrics = fact_accuracy(head, *split["held"])
    with torch.no_grad():
        pair = head.embed(*collate(encode_states(encoder, list(PROBE_PAIR))))
    metrics["cosine_right_left"] = float(pair[0] @ pair[1])
    window = max(1, min(100, args.steps // 10))  # first and last 10% (at most 100 steps)
    metrics["loss_first"] = float(np.mean(losses[:window]))
    metrics["loss_last"] = float(np.mean(losses[-window:]))
    minutes = (time.perf_counter() - started) / 60
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "preset": preset.name, "preset_version": str(preset.version), "facts": json.dumps(FACT_NAMES),
        "metrics": json.dumps(metrics), "train_texts": str(len(states)), "steps": str(args.steps),
        "command": "python -m generation.training.report_head " + shlex.join(sys.argv[1:]),
        "minutes": f"{minutes:.1f}",
    }
    save_weights(head, out, meta)
    return {"out": str(out), "train_cases": len(train), "held_out_cases": len(held), "minutes": round(minutes, 1), **metrics}


def main(argv: list[str] | None = None) -> int:
    return run_main(argv, build_parser(), run)


if __name__ == "__main__":
    raise SystemExit(main())
