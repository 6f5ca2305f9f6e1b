"""Figures of the study report, as matplotlib Figures (no pyplot: no global state, thread-safe
in a web worker, no display backend needed).

Conventions: truth 1 = real, 0 = synthetic; colours stay the same in every figure.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

REAL_COLOUR, SYNTHETIC_COLOUR = "#1f77b4", "#d62728"
DPI = 100


def _grid(n_panels: int, width: float = 4.2, height: float = 3.2) -> tuple[Figure, np.ndarray]:
    cols = min(3, max(1, n_panels))
    rows = int(np.ceil(n_panels / cols))
    fig = Figure(figsize=(width * cols, height * rows), dpi=DPI, layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False).ravel())
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    return fig, axes


def rating_distributions(df: pd.DataFrame, tasks: Sequence[str], categories: np.ndarray | None) -> Figure:
    """Share of each rating, real vs synthetic, one panel per task."""
    fig, axes = _grid(len(tasks))
    for ax, task in zip(axes, tasks, strict=False):
        part = df[df["task"] == task]
        values = categories if categories is not None else np.unique(part["rating"])
        x = np.arange(len(values))
        for offset, truth, colour, label in ((-0.2, 1, REAL_COLOUR, "real"), (0.2, 0, SYNTHETIC_COLOUR, "synthetic")):
            ratings = part.loc[part["truth"] == truth, "rating"].to_numpy()
            if ratings.size == 0:
                continue
            share = (ratings[:, None] == values[None, :]).mean(axis=0)
            ax.bar(x + offset, share, width=0.4, color=colour, label=f"{label} (n={ratings.size})")
        ax.set_xticks(x, [f"{v:g}" for v in values])
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("rating")
        ax.set_ylabel("share of ratings")
        ax.legend(fontsize=8, frameon=False)
    return fig


def reader_heatmap(per_reader: pd.DataFrame, value: str, title: str, centre: float = 0.5) -> Figure:
    """Readers (rows) x tasks (columns) heatmap of one per-reader statistic, annotated."""
    table = per_reader.pivot(index="reader", columns="task", values=value)
    data = table.to_numpy(dtype=float)
    # task names wrapped to the column width, and the height grown for them: long names used to
    # take the whole figure height, collapsing the heatmap to nothing
    labels = [textwrap.fill(str(task), 16) for task in table.columns]
    label_lines = max((label.count("\n") + 1 for label in labels), default=1)
    fig = Figure(figsize=(1.6 + 1.3 * table.shape[1], 1.2 + 0.28 * table.shape[0] + 0.15 * label_lines), dpi=DPI,
                 layout="constrained")
    ax = fig.subplots()
    spread = np.nanmax(np.abs(data - centre)) if np.isfinite(data).any() else 0.5
    spread = max(float(spread), 0.05)
    image = ax.imshow(data, cmap="RdBu_r", vmin=centre - spread, vmax=centre + spread, aspect="auto")
    ax.set_xticks(range(table.shape[1]), labels, fontsize=8)
    ax.set_yticks(range(table.shape[0]), table.index, fontsize=8)
    for (i, j), v in np.ndenumerate(data):
        dark = np.isfinite(v) and abs(v - centre) > 0.6 * spread
        ax.text(j, i, "–" if np.isnan(v) else f"{v:.2f}", ha="center", va="center", fontsize=7,
                color="white" if dark else "black")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def roc_curves(df: pd.DataFrame, tasks: Sequence[str]) -> Figure:
    """Pooled ROC (bold) and per-reader ROCs (thin) of real vs synthetic, one panel per task."""
    fig, axes = _grid(len(tasks), width=3.6, height=3.4)
    for ax, task in zip(axes, tasks, strict=False):
        part = df[df["task"] == task]
        ax.plot([0, 1], [0, 1], color="0.7", lw=0.8, ls="--")
        for _, one in part.groupby("reader", sort=True):
            if one["truth"].nunique() == 2:
                fpr, tpr, _ = roc_curve(one["truth"], one["rating"])
                ax.plot(fpr, tpr, color="0.55", lw=0.6, alpha=0.6)
        if part["truth"].nunique() == 2:
            fpr, tpr, _ = roc_curve(part["truth"], part["rating"])
            ax.plot(fpr, tpr, color="black", lw=2, label="pooled")
            ax.legend(fontsize=8, frameon=False, loc="lower right")
        ax.set_title(task, fontsize=10)
        ax.set_xlabel("1 - specificity (synthetic rated as real)")
        ax.set_ylabel("sensitivity (real rated as real)")
        ax.set_aspect("equal")
    return fig


def png_bytes(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
