"""Run the factual-correctness benchmark: classifier -> held-out reports -> generate -> score.

``run_benchmark(BenchConfig(...))`` returns the result dict that the CLI writes as JSON; the
markdown table and the figures come from :mod:`benchmarks.ct_factual.report`.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from benchmarks.ct_factual import classifier as clf
from benchmarks.ct_factual.heldout import real_volumes, select_reports
from benchmarks.ct_factual.metrics import (
    bootstrap_macro,
    evaluable_findings,
    json_safe,
    pairwise_diversity,
    per_finding_auc,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = REPO_ROOT / "var" / "bench" / "ct_factual"
DEFAULT_TRAIN_DATA = Path("/work/data/ct-train")
#: Target of issue 4 item 6.
TARGET_MACRO_AUC = 0.85
#: A finding counts as "judge-reliable" when the judge's AUC on its held-out real split reaches this.
RELIABLE_JUDGE_AUC = 0.80


@dataclass
class BenchConfig:
    weights_dir: str | None = None  # the directory holding <preset>/ (or the preset folder itself)
    preset: str = "demo"
    allow_untrained: bool = False
    device: str = "cpu"
    n_reports: int = 64
    report_seed: int = 990001
    selection: str = "balanced"
    pool: int | None = None
    steps: int = 30
    guidance: list[float] = field(default_factory=lambda: [1.0, 3.0, 5.0, 7.0])
    gen_seed: int = 7
    diversity_reports: int = 8
    seeds_per_report: int = 3
    train_data: str | None = None  # phantom data set dir; None = DEFAULT_TRAIN_DATA or a fresh one
    train_seed: int = 424242  # seed of a fresh training set (only if no train_data)
    train_n: int = 800
    classifier: clf.ClassifierConfig = field(default_factory=clf.ClassifierConfig)
    min_positives: int = 3
    min_negatives: int = 3
    n_boot: int = 1000
    real_row: bool = True
    gen_cache: bool = True  # keep generated volumes under <out>/generated/ (re-scoring is free)
    out: str = str(DEFAULT_OUT)
    progress: bool = True
    threads: int | None = 1  # one thread: on a shared 2-core box two OpenMP threads stall (~10x slower)


def resolve_weights_dir(weights_dir: str | None, preset: str) -> str | None:
    """Accept either the weights root (holding ``<preset>/``) or the preset folder itself."""
    if weights_dir is None:
        return None
    p = Path(weights_dir)
    if p.name == preset and not (p / preset).is_dir() and any(p.glob("*.safetensors")):
        return str(p.parent)
    return str(p)


# ----------------------------------------------------------------------------------------------
# classifier


def training_data_dir(cfg: BenchConfig, shape_zyx, spacing_zyx) -> Path:
    """``cfg.train_data``, else ``/work/data/ct-train`` when present, else a fresh phantom set
    (``train_seed``, ``train_n``, on the benchmark grid) written under ``<out>/phantom-train-<seed>-<n>``."""
    if cfg.train_data:
        return Path(cfg.train_data)
    if (DEFAULT_TRAIN_DATA / "cases.csv").is_file():
        return DEFAULT_TRAIN_DATA
    from generation.phantom import write_dataset

    data_dir = Path(cfg.out) / f"phantom-train-{cfg.train_seed}-{cfg.train_n}"
    if not (data_dir / "cases.csv").is_file():
        write_dataset(data_dir, cfg.train_n, cfg.train_seed, tuple(shape_zyx), tuple(spacing_zyx),
                      drr=False, progress=cfg.progress, overwrite=True)  # fmt: skip
    return data_dir


def training_seeds(data_dir: Path) -> set[int]:
    """Case seeds of a phantom data set (held-out reports must not be among them)."""
    csv.field_size_limit(sys.maxsize)
    with open(data_dir / "cases.csv", newline="", encoding="utf-8") as fh:
        return {int(row["seed"]) for row in csv.DictReader(fh)}


def obtain_classifier(cfg: BenchConfig, names, shape_zyx, spacing_zyx) -> tuple[object, dict, set[int]]:
    """The cached classifier for this training set and config, training it if needed.

    Returns (model, record, training case seeds). A lock file makes a second process that
    needs the same classifier wait for the first one's training instead of repeating it.
    """
    data_dir = training_data_dir(cfg, shape_zyx, spacing_zyx)
    data_id = hashlib.sha256((data_dir / "cases.csv").read_bytes()).hexdigest()
    key = clf.cache_key(data_id, shape_zyx, cfg.classifier, names)
    cache_dir = Path(cfg.out) / "classifier" / key
    cache_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(cache_dir.parent / f"{key}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another process that trains classifier {key} ...", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        cached = clf.load_classifier(cache_dir, len(names))
        if cached is not None:
            model, record = cached
            record = {**record, "cache": "hit", "cache_dir": str(cache_dir)}
            return model, record, set(record.get("train_case_seeds", []))
        vols, labels, seeds, _ = clf.load_phantom_dataset(data_dir, tuple(names), tuple(shape_zyx))
        model, record = clf.train_classifier(vols, labels, tuple(names), cfg.classifier,
                                             progress=cfg.progress)  # fmt: skip
        record.update({"train_data": str(data_dir), "train_data_sha256": data_id,
                       "train_case_seeds": seeds, "grid_zyx": list(shape_zyx)})  # fmt: skip
        clf.save_classifier(model, record, cache_dir)
    record = {**record, "cache": "trained", "cache_dir": str(cache_dir)}
    return model, record, set(seeds)


# ----------------------------------------------------------------------------------------------
# generation (cached on disk: re-scoring with another classifier does not regenerate)


def _weights_stamp(preset, weights_dir) -> list | None:
    """Identity of the installed weight files, or None when some are missing (untrained stand-ins)."""
    stamps = []
    for f in preset.expected_files(weights_dir):
        if not f.path.exists():
            return None
        st = f.path.stat()
        stamps.append([str(f.path), st.st_size, st.st_mtime_ns])
    return stamps


def generate_cached(request, cache_dir: Path | None, stamp: list | None, **kwargs) -> dict:
    """Volumes (int16 [k, Z, Y, X]) and provenance of one request, read from or written to disk."""
    from generation import generate

    path = None
    if cache_dir is not None and stamp is not None:
        blob = json.dumps({"request": asdict(request), "weights": stamp, "device": kwargs.get("device")},
                          sort_keys=True, default=str)  # fmt: skip
        path = cache_dir / f"{hashlib.sha256(blob.encode()).hexdigest()[:24]}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    meta = json.loads(str(z["meta"]))
                    return {**meta, "volumes": z["volumes"], "cached": True}
            except (OSError, ValueError, KeyError):
                pass
    result = generate(request, **kwargs)
    out = {
        "seeds": [int(smp.seed) for smp in result.samples],
        "weights_sha256": result.weights_sha256,
        "model_version": result.model_version,
        "warnings": list(result.warnings),
        "timings": dict(result.timings),
    }
    volumes = np.stack([smp.volume_hu for smp in result.samples]).astype(np.int16)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, volumes=volumes, meta=np.array(json.dumps(out)))
        os.replace(tmp, path)
    return {**out, "volumes": volumes, "cached": False}


# ----------------------------------------------------------------------------------------------
# benchmark


def _guidance_key(s: float) -> str:
    return f"{float(s):g}"


def run_benchmark(cfg: BenchConfig, classifier: tuple[object, dict, set[int]] | None = None) -> dict:
    """Everything of the benchmark; ``classifier`` = (model, record, train seeds) skips training."""
    import torch
    from tqdm import tqdm

    from generation import GenerationRequest
    from generation.phantom import FINDING_NAMES
    from generation.registry import load_preset
    from generation.request import DEFAULT_GUIDANCE

    t_start = time.perf_counter()
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    names = list(FINDING_NAMES)
    preset = load_preset(cfg.preset)
    shape, spacing = tuple(preset.output_shape_zyx), tuple(preset.spacing_mm_zyx)
    lo, hi = preset.hu_range
    weights_dir = resolve_weights_dir(cfg.weights_dir, cfg.preset)
    guidance = [float(s) for s in cfg.guidance]
    if len(set(guidance)) != len(guidance):
        raise ValueError(f"guidance values repeat: {guidance}")
    k_div = int(cfg.seeds_per_report)
    m_div = min(int(cfg.diversity_reports), int(cfg.n_reports)) if k_div >= 2 else 0

    # 1. held-out reports: new cases, none of them (by seed) in the judge's training set, which
    #    by default is /work/data/ct-train, the demo generator's training set too
    tic = time.perf_counter()
    if classifier is not None:
        train_seeds = set(classifier[2])
    else:
        train_seeds = training_seeds(training_data_dir(cfg, shape, spacing))
    reports = select_reports(cfg.n_reports, cfg.report_seed, cfg.pool, cfg.selection,
                             exclude_seeds=train_seeds)  # fmt: skip
    labels = np.stack([r.labels for r in reports]).astype(np.int8)
    text_labels = np.stack([r.text_labels for r in reports])
    keep, skipped = evaluable_findings(labels, names, cfg.min_positives, cfg.min_negatives)
    real = None
    if cfg.real_row:
        real = np.clip(real_volumes(reports, shape, spacing, progress=cfg.progress), lo, hi)
    t_reports = time.perf_counter() - tic

    # 2. generate one CT per report and guidance (same seed across guidance: paired), K seeds
    #    for the diversity subset
    n_samples = len(reports) * len(guidance) + m_div * (k_div - 1) * len(guidance)
    stamp = _weights_stamp(preset, weights_dir)
    gen_cache = Path(cfg.out) / "generated" if cfg.gen_cache else None
    generated: dict[tuple[int, str], np.ndarray] = {}
    diversity = {_guidance_key(s): [] for s in guidance}
    div_log: dict[tuple[int, str], dict] = {}
    warnings: set[str] = set()
    weights_sha = model_version = None
    t_gen = {"sampling": 0.0, "decoding": 0.0, "total": 0.0}
    n_cached = 0
    t_gen_cached = 0.0  # engine time it took to make the CTs read from the cache
    tic = time.perf_counter()
    bar = tqdm(total=n_samples, desc="generate", unit="CT", disable=not cfg.progress, file=sys.stderr)
    for i, r in enumerate(reports):
        for s in guidance:
            k = k_div if i < m_div else 1
            request = GenerationRequest(
                findings=r.findings, impression=r.impression, modality="ct",
                seed=cfg.gen_seed + 1000 * i, guidance_scale=s, num_inference_steps=cfg.steps,
                preset=cfg.preset, num_samples=k,
            )  # fmt: skip
            out = generate_cached(request, gen_cache, stamp, weights_dir=weights_dir,
                                  device=cfg.device, allow_untrained=cfg.allow_untrained)  # fmt: skip
            warnings.update(out["warnings"])
            weights_sha, model_version = out["weights_sha256"], out["model_version"]
            n_cached += k if out["cached"] else 0
            if out["cached"]:
                t_gen_cached += float(out["timings"].get("total", 0.0))
            else:
                for stage in t_gen:
                    t_gen[stage] += float(out["timings"].get(stage, 0.0))
            key = _guidance_key(s)
            generated[(i, key)] = out["volumes"]
            if k >= 2:
                d = pairwise_diversity(list(out["volumes"]), hi - lo)
                diversity[key].append(d)
                div_log[(i, key)] = d
            bar.update(k)
    bar.close()
    t_generation = time.perf_counter() - tic

    # 3. the judge (trained on real phantoms only; cached) scores real and generated CTs
    tic = time.perf_counter()
    model, clf_record, _ = classifier or obtain_classifier(cfg, names, shape, spacing)
    t_classifier = time.perf_counter() - tic
    tic = time.perf_counter()
    score_sets: dict[str, np.ndarray] = {}
    rows: dict[str, dict] = {}
    real_div = None
    examples: dict[str, np.ndarray] = {}
    if real is not None:
        score_sets["real"] = clf.predict(model, real)
        if m_div >= 2:
            real_div = pairwise_diversity(list(real[:m_div]), hi - lo)
        examples["real"] = real[0]
    samples_log = []
    for s in guidance:
        key = _guidance_key(s)
        score_sets[key] = np.zeros((len(reports), len(names)))
        for i in range(len(reports)):
            vols = generated[(i, key)]
            probs = clf.predict(model, vols)
            score_sets[key][i] = probs[0]
            entry = {"report": i, "guidance": s, "seed": cfg.gen_seed + 1000 * i,
                     "probs": [round(float(p), 5) for p in probs[0]]}  # fmt: skip
            if (i, key) in div_log:
                entry["diversity"] = div_log[(i, key)]
                entry["probs_all_seeds"] = [[round(float(p), 5) for p in row] for row in probs]
            samples_log.append(entry)
        examples[key] = generated[(0, key)][0]
    t_scoring = time.perf_counter() - tic

    # 4. AUCs, bootstrap CIs, diversity, targets
    reference = _guidance_key(1.0) if 1.0 in guidance else None
    boot = bootstrap_macro(labels, score_sets, keep, reference, cfg.n_boot, seed=cfg.report_seed)
    boot.get("real", {}).pop("diff_vs_reference", None)  # the paired Δ is for generated rows only
    # Secondary, fixed before any generated CT is scored: the findings that the judge itself
    # recognises on real CTs (AUC >= RELIABLE_JUDGE_AUC on its own held-out real split).
    val_auc = (clf_record.get("val") or {}).get("auc") or {}
    reliable = [j for j in keep if (val_auc.get(names[j]) or 0.0) >= RELIABLE_JUDGE_AUC]
    for key, scores in score_sets.items():
        per, macro = per_finding_auc(labels, scores, names, keep)
        row = {"auc": per, "macro_auc": macro, **boot.get(key, {})}
        row["macro_auc_judge_reliable"] = (
            float(np.mean([per[names[j]] for j in reliable])) if reliable else None
        )
        if key == "real":
            row["kind"] = "real phantom CT of the held-out cases (classifier ceiling)"
            row["diversity"] = real_div and {**real_div, "between": "different patients (scale reference)"}
        else:
            row["kind"] = "generated"
            row["guidance"] = float(key)
            ds = diversity[key]
            row["diversity"] = (
                {"mean_abs_diff_hu": float(np.mean([d["mean_abs_diff_hu"] for d in ds])),
                 "one_minus_ssim": float(np.mean([d["one_minus_ssim"] for d in ds])),
                 "reports": len(ds), "seeds_per_report": k_div, "between": "seeds of the same report"}
                if ds else None
            )  # fmt: skip
        rows[key] = row

    default_key = _guidance_key(DEFAULT_GUIDANCE)
    targets: dict = {"macro_auc_target": TARGET_MACRO_AUC, "default_guidance": DEFAULT_GUIDANCE}
    if default_key in rows and rows[default_key]["macro_auc"] is not None:
        targets["macro_auc_at_default"] = rows[default_key]["macro_auc"]
        targets["macro_auc_met"] = rows[default_key]["macro_auc"] >= TARGET_MACRO_AUC
    else:
        targets["macro_auc_met"] = None
        targets["macro_auc_note"] = "default guidance not among the benchmarked values"
    if reference is not None and rows[reference]["macro_auc"] is not None:
        above = {k: rows[k]["macro_auc"] > rows[reference]["macro_auc"]
                 for k in rows if k not in ("real", reference) and rows[k]["macro_auc"] is not None}  # fmt: skip
        targets["guidance_above_1"] = above
        targets["guidance_above_1_met"] = bool(above) and all(above.values())
    else:
        targets["guidance_above_1_met"] = None

    untrained = any("UNTRAINED" in w for w in warnings)
    result = {
        "benchmark": "ct_factual",
        "title": "Factual correctness of report -> CT (CT analogue of MedCoDi-M Table 3)",
        "untrained_weights": untrained,
        "preset": cfg.preset,
        "model_version": model_version,
        "weights_sha256": weights_sha,
        "weights_dir": weights_dir,
        "grid": {"shape_zyx": list(shape), "spacing_mm_zyx": list(spacing), "hu_range": [lo, hi]},
        "config": {**asdict(cfg), "classifier": asdict(cfg.classifier)},
        "finding_names": names,
        "evaluated_findings": [names[j] for j in keep],
        "judge_reliable_findings": {
            "threshold_val_auc": RELIABLE_JUDGE_AUC,
            "findings": [names[j] for j in reliable],
            "note": "findings the judge recognises on its own held-out REAL split; the secondary "
                    "macro averages these only (the target applies to the primary macro)",
        },
        "skipped_findings": skipped,
        "heldout": {
            "n_reports": len(reports),
            "report_seed": cfg.report_seed,
            "selection": cfg.selection,
            "positives": {k: int(v) for k, v in zip(names, labels.sum(0), strict=True)},
            "normal_reports": int((labels.sum(1) == 0).sum()),
            "overlap_with_classifier_training_seeds": len({r.case_seed for r in reports} & train_seeds),
            "report_text_label_agreement": float((text_labels == labels).mean()),
            "cases": [{"pool_index": r.index, "case_seed": r.case_seed, "labels": r.labels.tolist(),
                       "findings": r.findings, "impression": r.impression} for r in reports],  # fmt: skip
        },
        "classifier": {k: v for k, v in clf_record.items() if k != "train_case_seeds"},
        "rows": rows,
        "targets": targets,
        "samples": samples_log,
        "warnings": sorted(warnings),
        "timings_s": {
            "classifier": round(t_classifier, 1), "reports_and_real_ct": round(t_reports, 1),
            "generation": round(t_generation, 1), "scoring": round(t_scoring, 1),
            "generation_sampling": round(t_gen["sampling"], 1),
            "generation_decoding": round(t_gen["decoding"], 1),
            "per_generated_ct": round(t_generation / max(n_samples - n_cached, 1), 2)
            if n_cached < n_samples else None,
            "engine_time_of_cached_cts": round(t_gen_cached, 1),
            "total": round(time.perf_counter() - t_start, 1),
        },  # fmt: skip
        "n_generated": n_samples,
        "n_generated_from_cache": n_cached,
        "env": {"python": platform.python_version(), "torch": torch.__version__,
                "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
                "device": cfg.device, "date": time.strftime("%Y-%m-%d")},  # fmt: skip
    }
    result = json_safe(result)
    result["_examples"] = examples  # arrays for the figure; dropped before writing JSON
    return result
