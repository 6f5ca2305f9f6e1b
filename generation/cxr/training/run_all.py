"""Every CXR stage in order, then the model card.

    python -m generation.cxr.training all --data DIR --out RUN [--ship generation/weights/cxr-demo]
        [--with-ablation] [--force] [--resume]

A stage whose weights already exist in RUN is skipped (``--force`` retrains it), so an
interrupted run continues where it stopped (with ``--resume``, from the stage's last checkpoint).
``--with-ablation`` also trains the single-prompt UNets the benchmark compares against.
``--jobs N`` runs up to N independent stages at once as subprocesses (waves: encoders +
autoencoder; then the UNets + report decoder; then the joint coupling), each logging to
RUN/<stage>.log; with ``--threads 1`` per stage this uses a multi-core CPU best.
``--ship DIR`` copies the preset's weight files, the loss logs and MODEL_CARD.md to DIR.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from generation.cxr.modalities import VIEWS
from generation.cxr.training import autoencoder, encoders, joint, ldm, report
from generation.cxr.training.common import Run, image_cache, open_run, stage_parser
from generation.training.common import TrainingError, run_main

METRICS_PENDING = (
    "Not measured yet: `benchmarks/bench_cxr.py --model-card PATH` fills this section with the held-out\n"
    "numbers (full tables in BENCHMARKS.md)."
)
_PASS_THROUGH = ("data", "out", "preset", "weights_dir", "log_every", "device", "seed", "num_workers", "threads")
#: Stages that only depend on earlier waves (a stage name -> its wave).
_WAVES = {"encoders": 0, "autoencoder": 0, "ldm_frontal": 1, "ldm_lateral": 1, "report": 1,
          "ldm_frontal_single": 2, "ldm_lateral_single": 2, "joint": 2}  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser("python -m generation.cxr.training all", __doc__.splitlines()[0])
    parser.add_argument("--ship", default=None, help="copy the final weights + model card to this directory")
    parser.add_argument("--with-ablation", action="store_true", help="also train the single-prompt UNets")
    parser.add_argument("--force", action="store_true", help="retrain stages whose weights exist")
    parser.add_argument("--jobs", type=int, default=1, help="stages run concurrently (subprocesses)")
    return parser


def _stage_argv(args: argparse.Namespace, extra: Sequence[str] = ()) -> list[str]:
    argv = []
    for key in _PASS_THROUGH:
        value = getattr(args, key)
        if value is not None:
            argv += [f"--{key.replace('_', '-')}", str(value)]
    for extra_dir in args.extra_data:
        argv += ["--extra-data", str(extra_dir)]
    if args.resume:
        argv.append("--resume")
    return argv + list(extra)


def _plan(run: Run, args: argparse.Namespace) -> list[tuple[str, object, list[str], Path]]:
    plan = [
        ("encoders", encoders, [], run.weights_path("shared_space")),
        ("autoencoder", autoencoder, [], run.weights_path("autoencoder")),
        *[(f"ldm_{v}", ldm, ["--view", v], run.weights_path(f"unet_{v}")) for v in VIEWS],
        ("report", report, [], run.weights_path("report_decoder")),
        ("joint", joint, [], run.weights_path("joint")),
    ]
    if args.with_ablation:
        plan += [
            (f"ldm_{v}_single", ldm, ["--view", v, "--prompt-sampling", "single"], ldm.unet_file(run, v, "single"))
            for v in VIEWS
        ]
    return plan


def hardware(threads: int | None = None) -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    cores = os.cpu_count()
    return f"{cpu} ({cores} cores); {threads or torch.get_num_threads()} torch thread(s) per stage; {gpu}; torch {torch.__version__}"


def train(args: argparse.Namespace) -> dict:
    for key in ("max_steps", "batch_size", "lr", "save_every"):
        if getattr(args, key) is not None:
            raise TrainingError(f"--{key.replace('_', '-')} differs per stage: set it in the preset's 'training' section or run the stage alone.")
    if args.jobs < 1:
        raise TrainingError(f"--jobs must be at least 1, got {args.jobs}.")
    run = open_run(args)
    durations: dict[str, float] = {}
    todo = []
    for name, module, extra, weights in _plan(run, args):
        if weights.is_file() and not args.force:
            durations[name] = 0.0
            continue
        # A forced retrain starts the stage afresh: its old checkpoints would block a new run.
        if args.force and not args.resume:
            shutil.rmtree(run.out / name, ignore_errors=True)
        todo.append((name, module, extra))
    if args.jobs == 1:
        for name, module, extra in todo:
            tic = time.perf_counter()
            status = module.main(_stage_argv(args, extra))  # type: ignore[attr-defined]
            durations[name] = round(time.perf_counter() - tic, 1)
            if status != 0:
                raise TrainingError(f"stage {name} failed (exit status {status}); fix it and rerun with --resume.")
    else:
        image_cache(run)  # built once here rather than by two concurrent stages
        for wave in sorted({_WAVES[name] for name, _, _ in todo}):
            batch = [(name, extra) for name, _, extra in todo if _WAVES[name] == wave]
            durations.update(_run_parallel(run, args, batch))
    card = write_model_card(run, durations)
    shipped = ship(run, Path(args.ship)) if args.ship else None
    return {"kind": "all", "out": str(run.out), "durations_s": durations, "model_card": str(card), "shipped_to": shipped}


def _run_parallel(run: Run, args: argparse.Namespace, stages: list[tuple[str, list[str]]]) -> dict[str, float]:
    """Run stages as ``python -m generation.cxr.training`` subprocesses, at most --jobs at a time."""
    pending = list(stages)
    running: list[tuple[str, subprocess.Popen, float, object]] = []
    durations: dict[str, float] = {}
    failed = []
    while pending or running:
        while pending and len(running) < args.jobs:
            name, extra = pending.pop(0)
            stage = "ldm" if name.startswith("ldm") else name
            log = (run.out / f"{name}.log").open("w")
            cmd = [sys.executable, "-m", "generation.cxr.training", stage, *_stage_argv(args, extra)]
            running.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), time.perf_counter(), log))
        time.sleep(1.0)
        for item in list(running):
            name, proc, started, log = item
            if proc.poll() is None:
                continue
            running.remove(item)
            log.close()  # type: ignore[attr-defined]
            durations[name] = round(time.perf_counter() - started, 1)
            if proc.returncode != 0:
                failed.append(f"{name} (exit status {proc.returncode}, see {run.out / (name + '.log')})")
    if failed:
        raise TrainingError(f"stage(s) failed: {'; '.join(failed)}; fix and rerun with --resume.")
    return durations


def _records(run: Run) -> dict[str, dict]:
    path = run.out / "training_summary.jsonl"
    records: dict[str, dict] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                key = rec["kind"] + ("_single" if rec.get("prompt_sampling") == "single" else "")
                records[key] = rec  # the latest run of each stage wins
    return records


def dataset_command(data_dir: str) -> str:
    """The phantom command that wrote a data set, from its labels.json (when it has one)."""
    path = Path(data_dir) / "labels.json"
    try:
        meta = json.loads(path.read_text())
        shape = " ".join(str(v) for v in meta["shape_zyx"])
        spacing = " ".join(f"{v:g}" for v in meta["spacing_zyx_mm"])
        findings = f" --findings {meta['findings_spec']}" if meta.get("findings_spec") not in (None, "None") else ""
        return (
            f"python -m generation.phantom --n {meta['n']} --seed {meta['dataset_seed']} --out {data_dir} "
            f"--shape {shape} --spacing {spacing} --p-normal {meta['p_normal']:g}{findings}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return f"# data set: {data_dir} (not written by python -m generation.phantom)"


def write_model_card(run: Run, durations: dict[str, float]) -> Path:
    records = _records(run)
    n_train = len(run.train_index)
    n_test = len(run.cases) - n_train
    sizes = {f: (run.out / f).stat().st_size for f in run.preset.data["files"].values() if (run.out / f).is_file()}
    rows = []
    for kind, rec in records.items():
        extra = {k: rec[k] for k in ("temperature", "heldout", "heldout_l1", "latent_std", "scale_factor", "vocabulary_size") if k in rec}
        rows.append(
            f"| {kind} | {rec.get('step')} | {rec.get('last_loss', float('nan')):.4f} | {rec.get('seconds')} | "
            f"{rec.get('cpu_seconds', '–')} | {json.dumps(extra)} |"
        )
    total = sum(float(r.get("seconds") or 0) for k, r in records.items() if not k.endswith("_single"))
    total_cpu = sum(float(r.get("cpu_seconds") or 0) for k, r in records.items() if not k.endswith("_single"))
    extra_flags = "".join(f" --extra-data {d}" for d in run.args.extra_data)
    run_flags = "".join(
        flag for flag, on in (
            (f" --jobs {run.args.jobs}", run.args.jobs > 1), (f" --threads {run.args.threads}", bool(run.args.threads)),
            (" --with-ablation", run.args.with_ablation),
        ) if on
    )  # fmt: skip
    n_extra = sum(1 for c in run.cases if "/" in c.case_id)
    text = f"""# {run.preset.name} — chest X-ray any-to-any demo model (MedCoDi-M design)

**Trained on procedural phantoms; not for clinical use.** This model has never seen a patient:
its images are 64x64 digitally reconstructed radiographs of RadSynth's procedural phantom
world and its reports use that world's closed vocabulary.

## What it is
Preset `{run.preset.model_version}` (`generation/presets/{run.preset.name}.json`): a 128-d shared
space (one image encoder for frontal and lateral views; MiniLM token states + a trained text
head; symmetric InfoNCE, learnable temperature), a 2D KL autoencoder (64x64 -> 4x16x16), one
latent diffusion UNet per view with cross-attention on the multi-prompt condition (rectified
flow, classifier-free guidance), a conditional GRU report decoder, and a latent
cross-attention coupling for joint frontal + lateral generation. Weights are stored as float16.

## Data
`{run.args.data}`{"".join(f" + `{d}`" for d in run.args.extra_data)}: {len(run.cases)} phantom
cases ({n_train} train, of which {n_extra} from the supplementary training-only set(s); {n_test} held
out by a hash of the case id), each a frontal PA and a left-lateral DRR with the phantom's
radiograph report (findings + impression).

## Commands
```
{chr(10).join(dataset_command(d) for d in [run.args.data, *run.args.extra_data])}
OMP_NUM_THREADS=1 python -m generation.cxr.training all --data {run.args.data}{extra_flags} --out {run.out}{run_flags} --ship generation/weights/{run.preset.name}
```
(equivalently the stages one by one: `encoders`, `autoencoder`, `ldm --view frontal`,
`ldm --view lateral`, `report`, `joint`).

## Hardware and duration
{hardware(run.args.threads)}. Training time of the shipped stages: {total_cpu / 60:.1f} CPU-minutes; {total / 60:.1f} min of
stage wall-clock time summed ({"up to " + str(run.args.jobs) + " stages at once" if run.args.jobs > 1 else "one stage at a time"}, on a
CPU shared with the CT model's training and other jobs, so wall-clock time overstates the cost).

| stage | steps | final loss | wall s | CPU s | held-out / notes |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Loss logs: `training/<stage>_loss_log.jsonl` next to this card.

## Files
{chr(10).join(f"- `{name}`: {size / 1e6:.2f} MB" for name, size in sizes.items())}

## Metrics
{METRICS_PENDING}

## Limitations
- Trained on procedural phantoms; not for clinical use. Real radiographs are out of distribution;
  point `RADSYNTH_WEIGHTS_DIR` at real weights for real work.
- 64x64 pixels (~6 mm): coarse findings (effusions, cardiomegaly, large consolidations, masses)
  are representable, small nodules and fine detail are not.
- Reports use the phantom corpus' vocabulary only; words outside it cannot be produced.
- The report text encoder is the general-purpose MiniLM, frozen; the trained head has only seen
  the phantom corpus' phrasing.
"""
    path = run.out / "MODEL_CARD.md"
    path.write_text(text)
    return path


def ship(run: Run, dest: Path) -> str:
    dest.mkdir(parents=True, exist_ok=True)
    for name in run.preset.data["files"].values():
        shutil.copy2(run.out / name, dest / name)
    shutil.copy2(run.out / "MODEL_CARD.md", dest / "MODEL_CARD.md")
    logs = dest / "training"
    logs.mkdir(exist_ok=True)
    for log in run.out.glob("*/loss_log.jsonl"):
        shutil.copy2(log, logs / f"{log.parent.name}_loss_log.jsonl")
    shutil.copy2(run.out / "training_summary.jsonl", logs / "training_summary.jsonl")
    return str(dest)


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
