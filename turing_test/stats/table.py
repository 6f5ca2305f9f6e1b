"""Loading and validating the long rating table ``item, reader, rating[, truth][, modality]``.

Everything downstream assumes what this module guarantees: string ids, finite float ratings
inside the declared scale, a 0/1 ``truth`` that is constant per item and at most one rating per
(modality, item, reader). A violation raises :class:`RatingTableError` with a one-line message
that names the offending column and gives an example, so a reader of the CLI output can fix the
CSV without a traceback.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import RatingTableError

REQUIRED_COLUMNS = ("item", "reader", "rating")
ID_COLUMNS = ("item", "reader", "modality", "task")
_TRUE = {"1", "1.0", "true", "yes"}
_FALSE = {"0", "0.0", "false", "no"}
_SCALE_RE = re.compile(r"^\s*(-?\d+)\s*(?:-|\.\.|:|–)\s*(-?\d+)\s*$")


@dataclass(frozen=True)
class Scale:
    """A declared integer rating scale, e.g. 1-5 (both ends included)."""

    low: int
    high: int

    @property
    def categories(self) -> np.ndarray:
        return np.arange(self.low, self.high + 1, dtype=float)

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"


def parse_scale(scale: str | Scale | Sequence[int] | None) -> Scale | None:
    """``"1-5"`` (also ``1..5``, ``1:5``), a ``(low, high)`` pair or a Scale -> Scale; None stays None."""
    if scale is None or isinstance(scale, Scale):
        return scale
    if isinstance(scale, str):
        match = _SCALE_RE.match(scale)
        if not match:
            raise RatingTableError(f"scale must look like '1-5', got {scale!r}")
        low, high = int(match.group(1)), int(match.group(2))
    else:
        try:
            low, high = (int(v) for v in scale)
        except (TypeError, ValueError):
            raise RatingTableError(f"scale must be a (low, high) pair, got {scale!r}") from None
    if low >= high:
        raise RatingTableError(f"scale {low}-{high}: the lower end must be below the upper end")
    return Scale(low, high)


def read_rating_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text (ids keep leading zeros; ratings are parsed by :func:`validate_table`)."""
    path = Path(path)
    if not path.is_file():
        raise RatingTableError(f"input file not found: {path}")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise RatingTableError(f"{path.name} is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise RatingTableError(f"{path.name} is not a readable CSV: {first_line}") from None


def validate_table(
    df: pd.DataFrame,
    scale: str | Scale | Sequence[int] | None = None,
    *,
    group_columns: Sequence[str] = (),
) -> tuple[pd.DataFrame, list[str]]:
    """Check and normalise a long table; return ``(clean copy, warnings)``.

    ``group_columns`` (e.g. ``("task",)``) are extra id columns that, with modality, item and
    reader, must identify a rating uniquely. Blank ratings are treated as missing (dropped, with a
    warning), because the reference format encodes a missing rating as an absent row.
    """
    scale = parse_scale(scale)
    if not isinstance(df, pd.DataFrame):
        raise RatingTableError("the rating table must be a pandas DataFrame")
    df = df.rename(columns=lambda c: str(c).strip().lower())
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        found = ", ".join(map(str, df.columns)) or "none"
        raise RatingTableError(
            f"missing required column(s): {', '.join(missing)} (found: {found}; "
            "expected item,reader,rating[,truth][,modality])"
        )
    for column in group_columns:
        if column not in df.columns:
            raise RatingTableError(f"missing required column: {column}")
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise RatingTableError(f"duplicate column(s): {', '.join(dup)}")
    if len(df) == 0:
        raise RatingTableError("the rating table has no rows")

    out = df.copy()
    warnings: list[str] = []
    for column in ID_COLUMNS:
        if column in out.columns:
            out[column] = _id_column(out[column], column)

    ratings = _numeric_ratings(out)
    blank = ratings.isna().to_numpy()
    if blank.any():
        warnings.append(f"{int(blank.sum())} row(s) with an empty rating were treated as missing")
        out, ratings = out.loc[~blank].copy(), ratings.loc[~blank]
        if len(out) == 0:
            raise RatingTableError("every rating is empty")
    out["rating"] = ratings.astype(float)
    if scale is not None:
        _check_scale(out, scale)
    if "truth" in out.columns:
        out["truth"] = _truth_column(out)
    if "replicated" in out.columns:
        out["replicated"] = _replicated_column(out["replicated"])
    _check_unique(out, group_columns)
    return out.reset_index(drop=True), warnings


def load_rating_csv(
    path: str | Path, scale: str | Scale | Sequence[int] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """:func:`read_rating_csv` then :func:`validate_table`."""
    return validate_table(read_rating_csv(path), scale)


def unit_columns(df: pd.DataFrame) -> list[str]:
    """Columns naming one rated object: the same case shown under two modalities is two units."""
    return [c for c in ("task", "modality", "item") if c in df.columns]


@dataclass(frozen=True)
class WideRatings:
    """Units x readers matrix (NaN = not rated), readers in sorted order."""

    units: pd.DataFrame  # one row per unit, the unit id columns
    readers: list[str]
    matrix: np.ndarray

    def complete(self) -> np.ndarray:
        """Rows rated by every reader (what ICC, Fleiss' kappa and Kendall's W need)."""
        return self.matrix[~np.isnan(self.matrix).any(axis=1)]


def to_wide(df: pd.DataFrame) -> WideRatings:
    keys = unit_columns(df)
    unit_codes, units = _factorize(df, keys)
    reader_codes, readers = pd.factorize(df["reader"], sort=True)
    matrix = np.full((len(units), len(readers)), np.nan)
    matrix[unit_codes, reader_codes] = df["rating"].to_numpy(float)
    return WideRatings(units=units, readers=[str(r) for r in readers], matrix=matrix)


def _factorize(df: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    if len(keys) == 1:
        codes, uniques = pd.factorize(df[keys[0]], sort=True)
        return codes, pd.DataFrame({keys[0]: np.asarray(uniques)})
    index = pd.MultiIndex.from_frame(df[keys])
    codes, uniques = index.factorize(sort=True)
    return codes, uniques.to_frame(index=False)


def _on_uniques(values: pd.Series, transform) -> pd.Series:
    """Apply a Series -> Series string transform to the distinct values only and map back:
    40,000 ratings carry ~1,000 item ids and ~20 readers, so this is ~40x less string work."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    mapped = transform(pd.Series(uniques, dtype=object)).to_numpy()
    return pd.Series(mapped[codes], index=values.index)


def _id_column(values: pd.Series, name: str) -> pd.Series:
    text = _on_uniques(values, lambda u: u.astype(str).str.strip())
    empty = values.isna() | text.isin(["", "nan", "NaN", "None"])
    if empty.any():
        raise RatingTableError(f"{int(empty.sum())} row(s) have an empty {name}")
    return text.astype(str)


def _numeric_ratings(df: pd.DataFrame) -> pd.Series:
    raw = df["rating"]
    if raw.dtype.kind in "biuf":
        numbers = raw.astype(float)
        blank = numbers.isna()
    else:
        text = _on_uniques(raw, lambda u: u.astype(str).str.strip()).astype(str)
        blank = raw.isna() | text.isin(["", "nan", "NaN", "NA", "None"])
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = numbers.isna() & ~blank
        if bad.any():
            row = df.loc[bad.idxmax()]
            raise RatingTableError(
                f"{int(bad.sum())} rating(s) are not numbers, e.g. {text[bad.idxmax()]!r} "
                f"(item {row['item']}, reader {row['reader']})"
            )
    infinite = np.isinf(numbers.to_numpy(float))
    if infinite.any():
        raise RatingTableError(f"{int(infinite.sum())} rating(s) are infinite")
    return numbers.where(~blank)


def _check_scale(df: pd.DataFrame, scale: Scale) -> None:
    ratings = df["rating"].to_numpy()
    outside = (ratings < scale.low) | (ratings > scale.high)
    if outside.any():
        first = df.loc[outside].iloc[0]
        raise RatingTableError(
            f"{int(outside.sum())} rating(s) outside the declared scale {scale}, e.g. "
            f"{first['rating']:g} (item {first['item']}, reader {first['reader']})"
        )
    fractional = ratings != np.round(ratings)
    if fractional.any():
        first = df.loc[fractional].iloc[0]
        raise RatingTableError(
            f"{int(fractional.sum())} rating(s) are not whole numbers on the declared scale "
            f"{scale}, e.g. {first['rating']:g} (item {first['item']}, reader {first['reader']})"
        )


def _truth_column(df: pd.DataFrame) -> pd.Series:
    text = _on_uniques(df["truth"], lambda u: u.astype(str).str.strip().str.lower())
    truth = pd.Series(np.where(text.isin(_TRUE), 1, np.where(text.isin(_FALSE), 0, -1)), index=df.index)
    bad = truth < 0
    if bad.any():
        raise RatingTableError(
            f"truth must be 0 or 1 (1 = positive class); found {df['truth'][bad].iloc[0]!r} "
            f"in {int(bad.sum())} row(s)"
        )
    # truth belongs to the case: the same item under two modalities is the same case
    keys = [df[c] for c in ("task", "item") if c in df.columns]
    per_item = truth.groupby(keys).nunique()
    if (per_item > 1).any():
        first = per_item.index[per_item > 1][0]
        raise RatingTableError(
            f"{int((per_item > 1).sum())} item(s) have both truth 0 and 1, e.g. item "
            f"{first[-1] if isinstance(first, tuple) else first}; truth belongs to the item, "
            "not to the reading"
        )
    return truth.astype(np.int8)


def _replicated_column(values: pd.Series) -> pd.Series:
    """0/1 flag of the export's MRMC layout: 1 marks a copy of a real rating made so that every
    generator (modality) has the real items; blank counts as 0."""
    text = _on_uniques(values, lambda u: u.astype(str).str.strip().str.lower()).replace(
        {"": "0", "nan": "0", "none": "0"})
    flag = pd.Series(np.where(text.isin(_TRUE), 1, np.where(text.isin(_FALSE), 0, -1)), index=values.index)
    if (flag < 0).any():
        raise RatingTableError(f"replicated must be 0 or 1; found {values[flag < 0].iloc[0]!r}")
    return flag.astype(np.int8)


def original_ratings(df: pd.DataFrame) -> pd.DataFrame:
    """Drop the MRMC-layout copies (``replicated`` = 1): every rating once, for agreement,
    descriptive statistics and pooled AUCs, which must not see a rating twice."""
    if "replicated" not in df.columns:
        return df
    return df[df["replicated"] == 0]


def _check_unique(df: pd.DataFrame, group_columns: Sequence[str]) -> None:
    keys = [*group_columns, *unit_columns(df), "reader"]
    keys = list(dict.fromkeys(keys))  # task may be both a group and a unit column
    dup = df.duplicated(subset=keys, keep=False)
    if dup.any():
        first = df.loc[dup].iloc[0]
        where = ", ".join(f"{k} {first[k]}" for k in keys)
        raise RatingTableError(f"{int(dup.sum())} rows rate the same thing twice, e.g. {where}")
