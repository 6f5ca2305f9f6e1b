"""The independent finding classifier: a small multi-label 3D CNN trained on REAL phantom CTs only.

It never sees a generated volume during training; the benchmark uses it as a fixed judge of
what a CT shows. Inputs are int16 HU volumes [z, y, x]; both real and generated volumes go
through the same preprocessing (clip to the generator's HU range, two windows as channels).
A trained classifier is cached under ``<out>/classifier/<key>/`` where the key hashes the
training data (cases.csv), the grid and the configuration, so reruns skip training.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from benchmarks.ct_factual.metrics import evaluable_findings, per_finding_auc

#: Bump when the network, the preprocessing or the training recipe changes (invalidates caches).
CLASSIFIER_VERSION = "ct-finding-cnn-2"
#: The generator's output range; real volumes are clipped to it as well.
HU_RANGE = (-1000.0, 1000.0)
LUNG_WINDOW = (-1000.0, -400.0)
#: Edges (HU) of the intensity histograms of the second branch (15 bins) ...
HIST_EDGES = (-1000, -980, -950, -900, -850, -800, -700, -500, -300, -100, 0, 30, 60, 150, 400, 1000)
#: ... taken in a coarse (z, y, x) grid of regions: lower/middle/upper x front/back x right/left.
HIST_GRID = (3, 2, 2)


@dataclass
class ClassifierConfig:
    width: int = 16  # channels of the first stage; stages use width x (1, 2, 2, 4, 4, 8)
    epochs: int = 20
    batch_size: int = 8
    lr: float = 2e-3
    weight_decay: float = 1e-4
    hist_weight_decay: float = 1e-2  # the histogram branch is a linear model on 180 features
    val_fraction: float = 0.125  # real cases held out of training for the classifier's own AUC
    augment: bool = True
    seed: int = 0


def preprocess(volumes_hu: torch.Tensor) -> torch.Tensor:
    """[B, Z, Y, X] HU -> [B, 2, Z, Y, X]: wide window (HU / 1000) and a lung window, in [-1, 1]."""
    hu = volumes_hu.float().clamp(*HU_RANGE)
    wide = hu / 1000.0
    lo, hi = LUNG_WINDOW
    lung = (hu.clamp(lo, hi) - (lo + hi) / 2.0) / ((hi - lo) / 2.0)
    return torch.stack([wide, lung], dim=1)


def region_histograms(volumes_hu: torch.Tensor) -> torch.Tensor:
    """[B, Z, Y, X] HU -> [B, regions x bins]: share of each region's voxels in each HU bin."""
    hu = volumes_hu.float().clamp(*HU_RANGE)
    b = hu.shape[0]
    n_bins = len(HIST_EDGES) - 1
    bins = torch.bucketize(hu, torch.tensor(HIST_EDGES[1:-1], dtype=hu.dtype))
    axes = [torch.arange(n) * g // n for n, g in zip(hu.shape[1:], HIST_GRID, strict=True)]
    region = (axes[0][:, None, None] * HIST_GRID[1] + axes[1][None, :, None]) * HIST_GRID[2] + axes[2]
    n_regions = int(np.prod(HIST_GRID))
    key = (region * n_bins + bins) + (torch.arange(b) * n_regions * n_bins).view(b, 1, 1, 1)
    counts = torch.bincount(key.flatten(), minlength=b * n_regions * n_bins).view(b, n_regions, n_bins)
    return (counts / counts.sum(-1, keepdim=True).clamp(min=1)).float().flatten(1)


def _block(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv3d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm3d(cout), nn.SiLU(inplace=True)
    )


class FindingClassifier(nn.Module):
    """Two branches summed into one logit per finding, input int16/float HU [B, Z, Y, X]:

    - a strided 3D conv stack (to 1/16 resolution, two HU windows in) with global mean + max
      pooling: local structure (nodules, masses, bands, shapes);
    - a linear model on regional HU histograms: how much air, lung, ground glass, fluid and
      soft tissue each part of the chest holds (effusions, pneumothorax, emphysema, ...).
    """

    def __init__(self, n_findings: int, width: int = 16) -> None:
        super().__init__()
        w = int(width)
        self.features = nn.Sequential(
            _block(2, w, 2), _block(w, 2 * w, 2), _block(2 * w, 2 * w, 1),
            _block(2 * w, 4 * w, 2), _block(4 * w, 4 * w, 1), _block(4 * w, 8 * w, 2),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Dropout(0.2), nn.Linear(16 * w, n_findings))
        n_hist = (len(HIST_EDGES) - 1) * int(np.prod(HIST_GRID))
        self.hist_head = nn.Sequential(nn.BatchNorm1d(n_hist), nn.Dropout(0.1), nn.Linear(n_hist, n_findings))

    def forward(self, volumes_hu: torch.Tensor) -> torch.Tensor:
        f = self.features(preprocess(volumes_hu))
        pooled = torch.cat([f.mean(dim=(2, 3, 4)), f.amax(dim=(2, 3, 4))], dim=1)
        return self.head(pooled) + self.hist_head(region_histograms(volumes_hu))


# ----------------------------------------------------------------------------------------------
# data


def load_phantom_dataset(
    data_dir: str | Path, names: tuple[str, ...], shape_zyx: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, list[int], str]:
    """Volumes int16 [N, Z, Y, X], labels int8 [N, F], case seeds and sha256 of cases.csv."""
    import nibabel as nib
    from tqdm import tqdm

    root = Path(data_dir)
    csv_path = root / "cases.csv"
    if not csv_path.is_file():
        raise FileNotFoundError(f"{csv_path} not found: not a phantom data set (python -m generation.phantom)")
    digest = hashlib.sha256(csv_path.read_bytes()).hexdigest()
    csv.field_size_limit(sys.maxsize)
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    vols = np.empty((len(rows), *shape_zyx), dtype=np.int16)
    labels = np.zeros((len(rows), len(names)), dtype=np.int8)
    seeds = []
    for i, row in enumerate(tqdm(rows, desc="load real CTs", unit="case", file=sys.stderr)):
        data = np.asarray(nib.load(str(root / row["ct_path"])).dataobj).transpose(2, 1, 0)
        if tuple(data.shape) != tuple(shape_zyx):
            raise ValueError(
                f"{row['ct_path']} has shape {data.shape} (z, y, x); the benchmark grid is "
                f"{tuple(shape_zyx)}: generate the training phantoms on the preset's grid"
            )
        vols[i] = data
        labels[i] = [int(row[n]) for n in names]
        seeds.append(int(row["seed"]))
    return vols, labels, seeds, digest


def cache_key(data_id: str, shape_zyx, config: ClassifierConfig, names) -> str:
    blob = json.dumps(
        {"version": CLASSIFIER_VERSION, "data": data_id, "shape": list(shape_zyx),
         "config": asdict(config), "names": list(names)}, sort_keys=True,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------------
# training


def _augment(hu: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Label-preserving jitter of a [B, Z, Y, X] HU batch: shift, scanner noise, slight blur.

    The blur (and noise) make the judge less sensitive to texture, which differs between
    scanners and between real and autoencoder-decoded volumes; chosen a priori, not tuned on
    generated data.
    """
    b = hu.shape[0]
    pad = (3, 3, 3, 3, 2, 2)  # x, y, z
    padded = F.pad(hu, pad, mode="constant", value=HU_RANGE[0])
    out = torch.empty_like(hu)
    z, y, x = hu.shape[1:]
    for i in range(b):
        dz, dy, dx = (int(torch.randint(0, 2 * p + 1, (1,), generator=gen)) for p in (2, 3, 3))
        out[i] = padded[i, dz : dz + z, dy : dy + y, dx : dx + x]
    if float(torch.rand(1, generator=gen)) < 0.5:
        # blur: a random mix of the volume and its 3x3x3 box average
        alpha = float(torch.rand(1, generator=gen))
        box = F.avg_pool3d(out.unsqueeze(1), 3, stride=1, padding=1, count_include_pad=False)
        out = torch.lerp(out, box.squeeze(1), alpha)
    noise_sd = 15.0 * float(torch.rand(1, generator=gen))
    return out + noise_sd * torch.randn(out.shape, generator=gen)


@torch.no_grad()
def predict(model: nn.Module, volumes: np.ndarray | list[np.ndarray], batch_size: int = 8) -> np.ndarray:
    """Probabilities [N, F] for int16 HU volumes [N, Z, Y, X] (or a list of [Z, Y, X])."""
    model.eval()
    out = []
    for i in range(0, len(volumes), batch_size):
        batch = torch.from_numpy(np.stack([np.asarray(v) for v in volumes[i : i + batch_size]]))
        out.append(torch.sigmoid(model(batch.float())).numpy())
    return np.concatenate(out, axis=0).astype(np.float64)


def train_classifier(
    volumes: np.ndarray,
    labels: np.ndarray,
    names: tuple[str, ...],
    config: ClassifierConfig,
    *,
    progress: bool = True,
    max_steps: int | None = None,
) -> tuple[FindingClassifier, dict]:
    """Train on a deterministic split of real volumes; returns the model and its record.

    The last ``val_fraction`` of a seeded permutation is held out and only evaluated (no model
    selection on it), so ``val_auc`` is an honest ceiling on real data.
    """
    from tqdm import tqdm

    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    n = len(volumes)
    perm = np.random.default_rng(config.seed).permutation(n)
    n_val = int(round(n * config.val_fraction)) if n >= 4 else 0
    val_idx, train_idx = np.sort(perm[n - n_val :]), np.sort(perm[: n - n_val])
    y_train = torch.from_numpy(labels[train_idx].astype(np.float32))
    pos = y_train.sum(0).clamp(min=1.0)
    pos_weight = ((len(train_idx) - pos).clamp(min=1.0) / pos).sqrt()
    model = FindingClassifier(len(names), config.width)
    hist_params = list(model.hist_head.parameters())
    hist_ids = {id(p) for p in hist_params}
    opt = torch.optim.AdamW(
        [{"params": [p for p in model.parameters() if id(p) not in hist_ids]},
         {"params": hist_params, "weight_decay": config.hist_weight_decay}],
        lr=config.lr, weight_decay=config.weight_decay,
    )  # fmt: skip
    steps_per_epoch = math.ceil(len(train_idx) / config.batch_size)
    total = steps_per_epoch * config.epochs
    if max_steps is not None:
        total = min(total, int(max_steps))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, config.lr, total_steps=max(total, 1), pct_start=0.15)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    history, step, tic = [], 0, time.perf_counter()
    bar = tqdm(total=total, desc="train classifier (real CTs)", unit="batch", disable=not progress,
               file=sys.stderr)  # fmt: skip
    model.train()
    for epoch in range(config.epochs):
        order = train_idx[torch.randperm(len(train_idx), generator=gen).numpy()]
        losses = []
        for b in range(0, len(order), config.batch_size):
            if step >= total:
                break
            idx = np.sort(order[b : b + config.batch_size])
            if len(idx) < 2:  # BatchNorm needs two samples
                continue
            hu = torch.from_numpy(volumes[idx]).float()
            if config.augment:
                hu = _augment(hu, gen)
            logits = model(hu)
            loss = loss_fn(logits, torch.from_numpy(labels[idx].astype(np.float32)))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            step += 1
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses[-20:]):.3f}")
        history.append({"epoch": epoch + 1, "train_loss": float(np.mean(losses)) if losses else None})
        if step >= total:
            break
    bar.close()
    record = {
        "version": CLASSIFIER_VERSION,
        "config": asdict(config),
        "n_train": int(len(train_idx)),
        "n_val": int(n_val),
        "steps": step,
        "train_seconds": round(time.perf_counter() - tic, 1),
        "history": history,
        "parameters": int(sum(p.numel() for p in model.parameters())),
        "train_positives": {k: int(v) for k, v in zip(names, labels[train_idx].sum(0), strict=True)},
    }
    record["val"] = evaluate(model, volumes[val_idx], labels[val_idx], names) if n_val else None
    model.eval()
    return model, record


def evaluate(model: nn.Module, volumes, labels: np.ndarray, names, min_positives: int = 3,
             min_negatives: int = 3) -> dict:  # fmt: skip
    """Per-finding and macro AUC of the classifier on the given volumes."""
    probs = predict(model, volumes)
    keep, skipped = evaluable_findings(labels, names, min_positives, min_negatives)
    per, macro = per_finding_auc(labels, probs, names, keep)
    return {"n": int(len(labels)), "auc": per, "macro_auc": macro, "skipped": skipped,
            "positives": {k: int(v) for k, v in zip(names, labels.sum(0), strict=True)}}  # fmt: skip


# ----------------------------------------------------------------------------------------------
# cache


def save_classifier(model: FindingClassifier, record: dict, directory: Path) -> None:
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(directory / "classifier.safetensors"))
    (directory / "classifier.json").write_text(json.dumps(record, indent=1))


def load_classifier(directory: Path, n_findings: int) -> tuple[FindingClassifier, dict] | None:
    """The cached classifier in ``directory``, or None when there is none (or it is unreadable)."""
    from safetensors.torch import load_file

    weights, meta = directory / "classifier.safetensors", directory / "classifier.json"
    if not (weights.is_file() and meta.is_file()):
        return None
    try:
        record = json.loads(meta.read_text())
        model = FindingClassifier(n_findings, int(record["config"]["width"]))
        model.load_state_dict(load_file(str(weights)))
    except (OSError, KeyError, ValueError, RuntimeError):
        return None
    model.eval()
    return model, record
