"""Outputs of the factual-correctness benchmark: markdown table, JSON, figures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

SHORT = {
    "pleural_effusion": "pl. eff.",
    "pneumothorax": "PTX",
    "lung_nodule": "nodule",
    "lung_mass": "mass",
    "consolidation": "consol.",
    "ground_glass_opacity": "GGO",
    "atelectasis": "atelect.",
    "emphysema": "emphys.",
    "cardiomegaly": "cardiomeg.",
    "pericardial_effusion": "peric. eff.",
}


def _f(v, nd: int = 2) -> str:
    return "n/a" if v is None else f"{v:.{nd}f}"


def _row_label(key: str, row: dict) -> str:
    return "real CT (ceiling)" if key == "real" else f"generated, s = {key}"


def markdown_table(result: dict) -> str:
    names = result["finding_names"]
    rows = result["rows"]
    head = ["", *[SHORT.get(n, n) for n in names], "macro AUC [95% CI]", "Δ vs s=1 [95% CI]",
            "macro, judge-reliable", "MAD (HU)", "1−SSIM"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    order = ["real"] if "real" in rows else []
    order += sorted((k for k in rows if k != "real"), key=float)
    for key in order:
        row = rows[key]
        ci = row.get("macro_ci95")
        macro = _f(row["macro_auc"]) + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")
        diff = row.get("diff_vs_reference")
        if diff and row["macro_auc"] is not None and rows[diff["reference"]]["macro_auc"] is not None:
            d = row["macro_auc"] - rows[diff["reference"]]["macro_auc"]
            dtxt = f"{d:+.2f} [{diff['ci95'][0]:+.2f}, {diff['ci95'][1]:+.2f}]"
        else:
            dtxt = "—"
        div = row.get("diversity") or {}
        mad = _f(div.get("mean_abs_diff_hu"), 1) if div else "—"
        ssim = _f(div.get("one_minus_ssim"), 3) if div else "—"
        if key == "real" and div:
            mad, ssim = f"({mad})", f"({ssim})"
        cells = [_row_label(key, row), *[_f(row["auc"][n]) for n in names], f"**{macro}**", dtxt,
                 _f(row.get("macro_auc_judge_reliable")), mad, ssim]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_report(result: dict) -> str:
    h = result["heldout"]
    c = result["classifier"]
    cfg = result["config"]
    t = result["targets"]
    val = c.get("val") or {}
    pos = ", ".join(f"{SHORT.get(k, k)} {v}" for k, v in h["positives"].items())
    ts = result["timings_s"]
    cached = result.get("n_generated_from_cache") or 0
    cache_note = (
        f" ({cached} of {result['n_generated']} CTs read from the generation cache; making them took "
        f"{ts.get('engine_time_of_cached_cts', 0) / 60:.1f} min of engine time)" if cached else
        f" ({ts.get('per_generated_ct')} s per generated CT)"
    )  # fmt: skip
    lines = [
        f"### {result['title']}",
        "",
        f"Command: `{result.get('command', '')}` · wall time {ts['total'] / 60:.1f} min{cache_note} · "
        f"{result['env']['date']} · {result['env']['device']}, {result['env']['threads']} thread(s)",
        "",
    ]
    if result["untrained_weights"]:
        lines += ["**UNTRAINED weights: plumbing run, the numbers mean nothing.**", ""]
    lines += [
        f"Model `{result['model_version']}` (weights sha256 `{(result['weights_sha256'] or '')[:12]}`), "
        f"{cfg['steps']} RFlow steps, {h['n_reports']} held-out reports (phantom seed {h['report_seed']}, "
        f"{h['selection']} selection, {h['normal_reports']} normal), one CT per report and guidance "
        f"(same seed across guidance). Classifier AUC per finding (threshold-free); macro = mean over "
        f"the evaluated findings; 95% CIs from {cfg['n_boot']} bootstrap resamples of reports; Δ is "
        f"paired (same resamples). Diversity: mean pairwise |ΔHU| and 1−SSIM between "
        f"{cfg['seeds_per_report']} seeds of the same report, over {cfg['diversity_reports']} reports "
        f"(real row in brackets: between different patients, a scale reference only).",
        "",
        markdown_table(result),
        "",
        f"Positive reports per finding: {pos}.",
    ]
    rel = result.get("judge_reliable_findings") or {}
    if rel:
        lines.append(
            f"Judge-reliable findings (judge AUC ≥ {rel['threshold_val_auc']:.2f} on its own held-out real "
            f"split, fixed before scoring generated CTs): {', '.join(SHORT.get(n, n) for n in rel['findings']) or 'none'}"
            "; the secondary macro averages these only."
        )
    if result["skipped_findings"]:
        lines.append("Not evaluated (too few positives/negatives): " + "; ".join(
            f"{k}: {v}" for k, v in result["skipped_findings"].items()) + ".")
    lines += [
        "",
        f"Judge: {CLF_DESC} trained on {c.get('n_train')} real phantom CTs only "
        f"({c.get('steps')} steps, {c.get('train_seconds')} s, cache {c.get('cache', 'not used')}); its macro AUC on "
        f"{val.get('n', 'n/a')} held-out real training-distribution CTs is {_f(val.get('macro_auc'))}.",
        "",
        f"Targets: macro AUC ≥ {t['macro_auc_target']} at the default guidance s = {t['default_guidance']:g}: "
        f"**{_verdict(t.get('macro_auc_met'))}**"
        + (f" ({t['macro_auc_at_default']:.3f})" if t.get("macro_auc_at_default") is not None else "")
        + f"; every s > 1 above s = 1: **{_verdict(t.get('guidance_above_1_met'))}**.",
    ]
    return "\n".join(lines) + "\n"


CLF_DESC = ("a small 3D CNN (6 strided conv layers, two HU windows, mean+max pooling) plus a linear "
            "branch on regional HU histograms, one sigmoid per finding,")


def _verdict(v) -> str:
    return "not evaluated" if v is None else ("met" if v else "NOT met")


def write_json(result: dict, path: Path) -> None:
    clean = {k: v for k, v in result.items() if not k.startswith("_")}
    path.write_text(json.dumps(clean, indent=1, allow_nan=False))


def write_figure(result: dict, path: Path) -> None:
    """Macro AUC (with CI, the real-CT ceiling and the target) and diversity against guidance."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    keys = sorted((k for k in rows if k != "real"), key=float)
    s = np.array([float(k) for k in keys])
    macro = np.array([np.nan if rows[k]["macro_auc"] is None else rows[k]["macro_auc"] for k in keys])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    lo = [rows[k].get("macro_ci95", [np.nan, np.nan])[0] for k in keys]
    hi = [rows[k].get("macro_ci95", [np.nan, np.nan])[1] for k in keys]
    ax1.fill_between(s, lo, hi, alpha=0.2, color="C0", label="95% CI (bootstrap)")
    ax1.plot(s, macro, "o-", color="C0", label="generated CT")
    if "real" in rows and rows["real"]["macro_auc"] is not None:
        ax1.axhline(rows["real"]["macro_auc"], color="C2", ls="--", label="real CT (ceiling)")
    ax1.axhline(result["targets"]["macro_auc_target"], color="C3", ls=":", label="target")
    ax1.axhline(0.5, color="grey", lw=0.8)
    ax1.set(xlabel="guidance scale s", ylabel="macro AUC", title="factual correctness", ylim=(0.3, 1.02))
    ax1.set_xticks(s)
    ax1.legend(fontsize=8, loc="lower right")
    mad = [(rows[k].get("diversity") or {}).get("mean_abs_diff_hu", np.nan) for k in keys]
    dssim = [(rows[k].get("diversity") or {}).get("one_minus_ssim", np.nan) for k in keys]
    ax2.plot(s, mad, "o-", color="C1", label="mean |ΔHU| between seeds")
    ax2.set(xlabel="guidance scale s", ylabel="mean |ΔHU|", title="diversity (same report, different seeds)")
    ax2.set_xticks(s)
    real_mad = ((rows.get("real") or {}).get("diversity") or {}).get("mean_abs_diff_hu")
    if real_mad is not None:
        ax2.axhline(real_mad, color="C2", ls="--", label="real, between different patients")
    ax3 = ax2.twinx()
    ax3.plot(s, dssim, "s--", color="C4", label="1 − SSIM")
    ax3.set_ylabel("1 − SSIM")
    # start both axes at zero so that small changes are not blown up
    top = np.nanmax([*mad, real_mad or 0.0, 1e-6])
    ax2.set_ylim(0, 1.15 * top)
    ax3.set_ylim(0, 1.15 * max(np.nanmax([*dssim, 1e-6]), 1e-6))
    h1, l1 = ax2.get_legend_handles_labels()
    h2, l2 = ax3.get_legend_handles_labels()
    ax2.legend(h1 + h2, l1 + l2, fontsize=8, loc="best")
    title = "UNTRAINED weights (plumbing run)" if result["untrained_weights"] else result.get("model_version") or ""
    fig.suptitle(f"Report -> CT, {result['config']['steps']} steps, {result['heldout']['n_reports']} held-out reports · {title}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_examples(result: dict, path: Path) -> bool:
    """Coronal and axial mid-slices of report 0: real CT and one sample per guidance."""
    ex = result.get("_examples") or {}
    if not ex:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = (["real"] if "real" in ex else []) + sorted((k for k in ex if k != "real"), key=float)
    spacing = result["grid"]["spacing_mm_zyx"]
    fig, axes = plt.subplots(2, len(keys), figsize=(2.4 * len(keys), 5), squeeze=False)
    for c, k in enumerate(keys):
        v = np.asarray(ex[k], dtype=np.float32)
        cor = v[:, v.shape[1] // 2, :][::-1]  # superior at the top
        ax = v[v.shape[0] // 2]
        axes[0, c].imshow(cor, cmap="gray", vmin=-1000, vmax=400, aspect=spacing[0] / spacing[2])
        axes[1, c].imshow(ax, cmap="gray", vmin=-1000, vmax=400, aspect=spacing[1] / spacing[2])
        axes[0, c].set_title("real" if k == "real" else f"s = {k}", fontsize=9)
        for a in axes[:, c]:
            a.axis("off")
    case = result["heldout"]["cases"][0]
    pos = [n for n, y in zip(result["finding_names"], case["labels"], strict=True) if y] or ["normal"]
    fig.suptitle("report 0: " + ", ".join(pos) + " (coronal / axial mid-slices, window -1000..400 HU)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
