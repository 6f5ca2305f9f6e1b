"""CXR training/evaluation data: the phantom dataset layout, read into in-memory tensors.

Layout (what ``python -m generation.phantom`` writes; swap :func:`read_cxr_cases` for another)::

    DIR/cases.csv                      case_id, findings, impression (CT report) and, when
                                       present, cxr_findings / cxr_impression (the radiograph
                                       report, preferred), a split column, label columns
    DIR/cxr/<case_id>_frontal.png      PA view, radiological display, bright = dense
    DIR/cxr/<case_id>_lateral.png      left lateral view
    DIR/labels.json                    optional; per case ``cxr_labels``, the findings a
                                       radiograph shows (preferred over the CT label columns)

Images go through the same preprocessing as real DICOMs (square zero-padding, resize to the
model size; PNGs carry no spacing, so no spacing resampling), see :mod:`generation.cxr.preprocess`.
Without a split column, 10% of cases are held out by a hash of the case id, so the split never
depends on row order or on how many cases were generated.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from generation.cxr.modalities import VIEWS
from generation.cxr.preprocess import to_model_input
from generation.errors import GenerationError

TEST_FRACTION = 0.1
_MAX_LISTED = 10


class CXRDatasetError(GenerationError):
    """The CXR data directory is missing, empty or malformed."""


@dataclass(frozen=True)
class CXRCase:
    case_id: str
    findings: str
    impression: str
    images: dict[str, Path]
    split: str
    labels: dict[str, int] = field(default_factory=dict)


def hashed_split(case_id: str, test_fraction: float = TEST_FRACTION) -> str:
    digest = hashlib.sha1(case_id.encode()).digest()
    return "test" if int.from_bytes(digest[:4], "big") / 2**32 < test_fraction else "train"


def _label_columns(columns: Sequence[str]) -> list[str]:
    try:
        from generation.phantom import FINDING_NAMES
    except ImportError:  # the reader also works on other datasets with label columns
        return []
    prefixed = [c for c in columns if c.startswith("cxr_label_") and c[len("cxr_label_"):] in FINDING_NAMES]
    if prefixed:
        return prefixed
    return [c for c in columns if c in FINDING_NAMES]


def _labels_json(root: Path) -> dict[str, dict[str, int]]:
    """case_id -> radiograph labels from the phantom's labels.json, if it has them."""
    path = root / "labels.json"
    if not path.is_file():
        return {}
    try:
        cases = json.loads(path.read_text()).get("cases", [])
        return {str(c["case_id"]): {k: int(v) for k, v in c["cxr_labels"].items()} for c in cases if "cxr_labels" in c}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CXRDatasetError(f"{path} is not a readable labels file: {exc}") from exc


def read_cxr_cases(data_dir: str | Path, *, training_only: bool = False) -> list[CXRCase]:
    """Read and check ``DIR/cases.csv`` + ``DIR/cxr/``; every problem is reported at once.

    ``training_only``: a supplementary data set; all its cases are training cases and their ids
    are prefixed with the directory name (so they cannot collide with the main set's ids).
    """
    root = Path(data_dir)
    table = root / "cases.csv"
    if not root.is_dir():
        raise CXRDatasetError(f"Data directory {root} does not exist.")
    if not table.is_file():
        raise CXRDatasetError(f"{table} not found: the data directory needs a cases.csv file.")
    with table.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    if "case_id" not in columns:
        raise CXRDatasetError(f"{table} lacks a case_id column (found: {', '.join(columns) or 'none'}).")
    text_cols = ("cxr_findings", "cxr_impression") if "cxr_findings" in columns else ("findings", "impression")
    if not any(c in columns for c in text_cols):
        raise CXRDatasetError(f"{table} has no report columns ({' / '.join(text_cols)}).")
    label_cols = _label_columns(columns)
    radiograph_labels = _labels_json(root)
    cases, problems = [], []
    for line, row in enumerate(rows, start=2):
        case_id = (row.get("case_id") or "").strip()
        findings = (row.get(text_cols[0]) or "").strip()
        impression = (row.get(text_cols[1]) or "").strip()
        paths = {v: root / "cxr" / f"{case_id}_{v}.png" for v in VIEWS}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if not case_id:
            problems.append(f"line {line}: empty case_id")
        elif not (findings or impression):
            problems.append(f"line {line}: case {case_id!r} has no report text")
        elif missing:
            problems.append(f"line {line}: {missing[0]} not found")
        else:
            split = (row.get("split") or "").strip().lower() or hashed_split(case_id)
            labels = radiograph_labels.get(case_id) or {
                c.removeprefix("cxr_label_"): int(float(row[c] or 0)) for c in label_cols
            }
            if training_only:
                case_id, split = f"{root.name}/{case_id}", "train"
            cases.append(CXRCase(case_id, findings, impression, paths, split, labels))
    if problems:
        shown = "; ".join(problems[:_MAX_LISTED])
        more = len(problems) - _MAX_LISTED
        raise CXRDatasetError(f"{table}: {len(problems)} problem(s): {shown}" + (f"; and {more} more" if more > 0 else ""))
    if not cases:
        raise CXRDatasetError(f"{table} has no cases.")
    return cases


def read_png(path: Path) -> np.ndarray:
    """A grey PNG -> float32 [0, 1], scaled by its bit depth (8 or 16 bits)."""
    try:
        with Image.open(path) as image:
            array = np.asarray(image)
            mode = image.mode
    except OSError as exc:
        raise CXRDatasetError(f"Cannot read {path}: {exc}") from exc
    if array.ndim == 3:  # RGB(A) export of a grey image: take the first channel
        array = array[..., 0]
    if array.dtype == np.uint8:
        top = 255.0
    elif mode.startswith("I;16") or array.dtype == np.uint16 or array.max() > 255:
        top = 65535.0
    else:
        top = 255.0
    return np.clip(array.astype(np.float32) / top, 0.0, 1.0)


def load_images(cases: Sequence[CXRCase], size: int) -> dict[str, torch.Tensor]:
    """{view: [N, 1, size, size] float32 in [0, 1]} for the cases, preprocessed for the model."""
    out = {}
    for view in VIEWS:
        stack = [to_model_input(read_png(c.images[view]), size) for c in cases]
        out[view] = torch.from_numpy(np.stack(stack))[:, None].contiguous()
    return out


def report_texts(cases: Sequence[CXRCase]) -> list[str]:
    from generation.cxr.encoders import report_text

    return [report_text(c.findings, c.impression) for c in cases]
