"""Paths and helpers for the published reference data in ``../shared/reference-data/stats``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[3]
REFERENCE_DIR = (REPO_ROOT / ".." / "shared" / "reference-data" / "stats").resolve()


def reference_csv(name: str) -> Path:
    path = REFERENCE_DIR / name
    assert path.is_file(), f"reference data missing: {path} (shared/ must sit beside the repo root)"
    return path


def reference_table(name: str) -> pd.DataFrame:
    return pd.read_csv(reference_csv(name), dtype={"item": str, "reader": str})


def units_by_readers(name: str) -> tuple[np.ndarray, list[str]]:
    """The reference table as a units x readers matrix (NaN = not rated), readers sorted."""
    wide = reference_table(name).pivot(index="item", columns="reader", values="rating")
    return wide.to_numpy(dtype=float), [str(c) for c in wide.columns]


def assert_published(value: float | None, published: float, decimals: int) -> None:
    """Equal to the published figure at the precision it was printed with."""
    assert value is not None, "statistic is None"
    tolerance = 0.5 * 10.0**-decimals + 1e-12
    assert abs(value - published) <= tolerance, f"{value!r} does not round to {published} ({decimals} d.p.)"
