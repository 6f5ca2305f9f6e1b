"""Training data: a directory of report + CT pairs, as the phantom generator writes it.

Layout read by :func:`read_cases` (swap the reader for another layout)::

    DIR/cases.csv            columns case_id, findings, impression (others ignored)
    DIR/ct/<case_id>.nii.gz  CT in HU; the NIfTI affine gives orientation and spacing

Volumes are brought to the networks' layout (RAS+ canonical [X, Y, Z], see
:mod:`generation.networks.layout`), resampled to the preset's grid (which changes the voxel
spacing, recorded for the spacing condition, as in Report2CT), clipped to [-1000, 1000] HU
and scaled to [0, 1].
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from generation.errors import GenerationError

REQUIRED_COLUMNS: tuple[str, ...] = ("case_id", "findings", "impression")
_MAX_LISTED_PROBLEMS = 10


class DatasetError(GenerationError):
    """The training data directory is missing, empty or malformed."""


@dataclass(frozen=True)
class Case:
    case_id: str
    findings: str
    impression: str
    ct_path: Path


CaseReader = Callable[[Path], list[Case]]


def read_training_cases(data_dir: str | Path, extra_dirs: Sequence[str | Path] = ()) -> list[Case]:
    """``data_dir``'s cases followed by those of each supplementary set, whose case ids are
    prefixed with the set's folder name so that they never collide."""
    cases = read_cases(data_dir)
    for extra in extra_dirs:
        prefix = Path(extra).name
        cases += [replace(c, case_id=f"{prefix}/{c.case_id}") for c in read_cases(extra)]
    return cases


def read_cases(data_dir: str | Path) -> list[Case]:
    """Read and check ``DIR/cases.csv`` + ``DIR/ct/``; every problem found is reported at once."""
    root = Path(data_dir)
    if not root.is_dir():
        raise DatasetError(f"Data directory {root} does not exist.")
    table = root / "cases.csv"
    if not table.is_file():
        raise DatasetError(f"{table} not found: the data directory needs a cases.csv file.")
    with table.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise DatasetError(
                f"{table} lacks column(s) {', '.join(missing)}; "
                f"required: {', '.join(REQUIRED_COLUMNS)} (found: {', '.join(columns) or 'none'})."
            )
        rows = list(reader)
    if not rows:
        raise DatasetError(f"{table} has no cases.")
    cases, problems, seen = [], [], set()
    for line, row in enumerate(rows, start=2):
        case_id = (row.get("case_id") or "").strip()
        findings = (row.get("findings") or "").strip()
        impression = (row.get("impression") or "").strip()
        path = root / "ct" / f"{case_id}.nii.gz"
        if not case_id:
            problems.append(f"line {line}: empty case_id")
        elif case_id in seen:
            problems.append(f"line {line}: duplicate case_id {case_id!r}")
        elif not (findings or impression):
            problems.append(f"line {line}: case {case_id!r} has neither findings nor impression")
        elif not path.is_file():
            problems.append(f"line {line}: {path} not found")
        else:
            cases.append(Case(case_id, findings, impression, path))
        seen.add(case_id)
    if problems:
        shown = "; ".join(problems[:_MAX_LISTED_PROBLEMS])
        more = len(problems) - _MAX_LISTED_PROBLEMS
        raise DatasetError(
            f"{table}: {len(problems)} problem(s): {shown}"
            + (f"; and {more} more" if more > 0 else "")
        )
    return cases


def load_volume(path: Path) -> tuple[np.ndarray, tuple[float, float, float]]:
    """NIfTI -> (float32 HU array in network layout [X(R), Y(A), Z(S)], spacing (sx, sy, sz))."""
    import nibabel as nib

    try:
        image = nib.as_closest_canonical(nib.load(str(path)))
    except Exception as exc:  # noqa: BLE001 - nibabel raises many types for broken files
        raise DatasetError(f"Cannot read {path}: {exc}") from exc
    array = np.asarray(image.dataobj, dtype=np.float32)
    if array.ndim == 4 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim != 3:
        raise DatasetError(f"{path} is not a 3D volume (shape {array.shape}).")
    spacing = tuple(float(v) for v in image.header.get_zooms()[:3])
    return array, spacing  # type: ignore[return-value]


def prepare_volume(
    array: np.ndarray,
    spacing_xyz: Sequence[float],
    target_shape_xyz: Sequence[int],
    hu_range: tuple[float, float] = (-1000.0, 1000.0),
) -> tuple[torch.Tensor, tuple[float, float, float]]:
    """Clip + scale to [0, 1] and resample to the target grid: ([1, X, Y, Z], new spacing)."""
    lo, hi = hu_range
    tensor = torch.from_numpy(np.clip(array, lo, hi)).float().sub_(lo).div_(hi - lo)
    shape = tuple(int(n) for n in target_shape_xyz)
    spacing = tuple(
        float(s) * n_old / n_new
        for s, n_old, n_new in zip(spacing_xyz, array.shape, shape, strict=True)
    )
    if tuple(array.shape) != shape:
        tensor = F.interpolate(
            tensor[None, None], size=shape, mode="trilinear", align_corners=False
        )[0, 0]
    return tensor[None].contiguous(), spacing  # type: ignore[return-value]


class VolumeDataset(torch.utils.data.Dataset):
    """Cases -> {"image": [1, X, Y, Z] in [0, 1], "spacing": (sx, sy, sz) tensor, "index"}."""

    def __init__(
        self,
        cases: Sequence[Case],
        target_shape_xyz: Sequence[int],
        hu_range: tuple[float, float] = (-1000.0, 1000.0),
    ) -> None:
        self.cases = list(cases)
        self.target_shape_xyz = tuple(target_shape_xyz)
        self.hu_range = hu_range

    def __len__(self) -> int:
        return len(self.cases)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        array, spacing = load_volume(self.cases[index].ct_path)
        image, spacing = prepare_volume(array, spacing, self.target_shape_xyz, self.hu_range)
        return {"image": image, "spacing": torch.tensor(spacing), "index": torch.tensor(index)}
