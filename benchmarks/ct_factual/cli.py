"""Command line of the factual-correctness benchmark (``benchmarks/bench_ct_factual.py``)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from benchmarks.ct_factual.classifier import ClassifierConfig
from benchmarks.ct_factual.runner import DEFAULT_OUT, REPO_ROOT, BenchConfig, run_benchmark


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench_ct_factual.py",
        description="Factual correctness of report -> CT: a classifier trained on real phantom CTs "
        "scores CTs generated from held-out reports (per-finding and macro AUC) at several guidance "
        "scales, plus the diversity between seeds of one report.",
    )
    g = p.add_argument_group("generator")
    g.add_argument("--weights-dir", default=None,
                   help="weights root holding <preset>/ (or the preset folder itself); default: the "
                        "registry's (RADSYNTH_WEIGHTS_DIR or generation/weights)")  # fmt: skip
    g.add_argument("--preset", default="demo")
    g.add_argument("--allow-untrained", action="store_true",
                   help="random weights when none are installed (plumbing runs only)")  # fmt: skip
    g.add_argument("--device", default="cpu")
    g.add_argument("--steps", type=int, default=30, help="RFlow steps per CT (default 30)")
    g.add_argument("--guidance", type=float, nargs="+", default=[1.0, 3.0, 5.0, 7.0])
    g.add_argument("--gen-seed", type=int, default=7, help="report i is generated with seed GEN_SEED + 1000 i")
    g.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: on the shared 2-core box two OpenMP threads "
                        "stall each other, ~10x slower; 0 = torch's default)")  # fmt: skip
    r = p.add_argument_group("held-out reports")
    r.add_argument("--n-reports", type=int, default=64)
    r.add_argument("--report-seed", type=int, default=990001, help="phantom data set seed of the held-out cases")
    r.add_argument("--selection", choices=("balanced", "random"), default="balanced")
    r.add_argument("--min-positives", type=int, default=3, help="findings with fewer positive reports are not scored")
    r.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for the CIs")
    r.add_argument("--no-real-row", action="store_true", help="skip scoring the real CTs of the held-out cases")
    d = p.add_argument_group("diversity")
    d.add_argument("--seeds-per-report", type=int, default=3, help="K seeds per report (< 2: no diversity)")
    d.add_argument("--diversity-reports", type=int, default=8, help="reports that get K seeds")
    c = p.add_argument_group("classifier (trained on real phantom CTs only; cached)")
    c.add_argument("--train-data", default=None,
                   help="phantom data set dir (default /work/data/ct-train if present, else a fresh "
                        "set generated with --train-seed/--train-n)")  # fmt: skip
    c.add_argument("--train-seed", type=int, default=424242)
    c.add_argument("--train-n", type=int, default=800)
    c.add_argument("--clf-epochs", type=int, default=ClassifierConfig.epochs)
    c.add_argument("--clf-width", type=int, default=ClassifierConfig.width)
    p.add_argument("--no-gen-cache", action="store_true",
                   help="do not keep/reuse generated volumes under OUT/generated/")  # fmt: skip
    p.add_argument("--out", default=str(DEFAULT_OUT), help="output directory (default var/bench/ct_factual)")
    p.add_argument("--name", default=None,
                   help="output file stem (default ct_factual, or ct_factual_untrained for untrained weights)")  # fmt: skip
    p.add_argument("--no-progress", action="store_true")
    return p


def command_line(argv: list[str]) -> str:
    """The command as typed from the repository root (niceness included)."""
    exe_txt = os.path.relpath(sys.executable, REPO_ROOT)
    if exe_txt.startswith(".."):
        exe_txt = sys.executable
    script = sys.argv[0] if sys.argv and sys.argv[0] else "benchmarks/bench_ct_factual.py"
    if script.endswith("__main__.py"):
        head = [exe_txt, "-m", "benchmarks.ct_factual"]
    else:
        script_path = Path(script).resolve()
        try:
            script = str(script_path.relative_to(REPO_ROOT))
        except ValueError:
            script = str(script_path)
        head = [exe_txt, script]
    nice = os.nice(0)
    prefix = f"nice -n {nice} " if nice > 0 else ""
    return prefix + shlex.join(head + list(argv))


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    return BenchConfig(
        weights_dir=args.weights_dir, preset=args.preset, allow_untrained=args.allow_untrained,
        device=args.device, n_reports=args.n_reports, report_seed=args.report_seed,
        selection=args.selection, steps=args.steps, guidance=list(args.guidance),
        gen_seed=args.gen_seed, diversity_reports=args.diversity_reports,
        seeds_per_report=args.seeds_per_report, train_data=args.train_data,
        train_seed=args.train_seed, train_n=args.train_n,
        classifier=ClassifierConfig(epochs=args.clf_epochs, width=args.clf_width),
        min_positives=args.min_positives, n_boot=args.n_boot, real_row=not args.no_real_row, gen_cache=not args.no_gen_cache,
        out=args.out, progress=not args.no_progress, threads=args.threads,
    )  # fmt: skip


def write_outputs(result: dict, out: Path, name: str) -> dict[str, str]:
    from benchmarks.ct_factual.report import (
        markdown_report,
        write_examples,
        write_figure,
        write_json,
    )

    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{name}.json", "markdown": out / f"{name}.md", "figure": out / f"{name}.png",
             "examples": out / f"{name}_examples.png"}  # fmt: skip
    result["outputs"] = {k: str(v) for k, v in paths.items()}
    write_json(result, paths["json"])
    paths["markdown"].write_text(markdown_report(result))
    write_figure(result, paths["figure"])
    if not write_examples(result, paths["examples"]):
        paths.pop("examples")
    return {k: str(v) for k, v in paths.items()}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.n_reports < 2 or args.steps < 1:
        print("error: --n-reports must be >= 2 and --steps >= 1", file=sys.stderr)
        return 2
    cfg = config_from_args(args)
    from generation import GenerationError

    try:
        result = run_benchmark(cfg)
    except GenerationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result["command"] = command_line(argv)
    name = args.name or ("ct_factual_untrained" if result["untrained_weights"] else "ct_factual")
    from benchmarks.ct_factual.report import markdown_report

    paths = write_outputs(result, Path(args.out), name)
    print(markdown_report(result))
    for k, v in paths.items():
        print(f"{k}: {v}")
    print(f"command: {result['command']}")
    print(f"wall time: {result['timings_s']['total']:.0f} s")
    return 0
