"""Synthetic Visual Turing Test data for benchmarks, tests and the planner's demo.

Model per task: each item has a latent realism z ~ N(shift * truth, 1); reader j adds a bias
b_j ~ N(0, reader_sd) and noise; the rating is the latent rounded onto the 1-5 scale. The
forced choice says "real" when the reader's noisy latent is above 0, with a confidence 1-5
growing with its distance from 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def simulate_study(
    n_readers: int = 5,
    n_items: int = 100,
    tasks: Sequence[str] = ("image realism",),
    *,
    shift: float = 0.5,
    reader_sd: float = 0.3,
    noise_sd: float = 0.8,
    prevalence: float = 0.5,
    modalities: Sequence[str] | None = None,
    forced_choice: bool = True,
    seed: int = 0,
) -> pd.DataFrame:
    """Long table item, reader, rating, truth, task[, modality][, forced_choice, confidence].

    Every reader rates every item of every task (a fully crossed design). With ``modalities``
    each item is shown once per modality, the modality changing how real synthetic items look.
    """
    rng = np.random.default_rng(seed)
    readers = [f"reader{j:03d}" for j in range(n_readers)]
    mods = list(modalities) if modalities else [None]
    frames = []
    for t_index, task in enumerate(tasks):
        truth = (rng.random(n_items) < prevalence).astype(int)
        truth[:2], truth[2:4] = 1, 0  # both classes present even in tiny studies
        case_latent = rng.normal(size=n_items)
        bias = rng.normal(0, reader_sd, n_readers)
        for m_index, modality in enumerate(mods):
            # later modalities make synthetic items look a little more real
            latent = case_latent + shift * truth + 0.15 * m_index * (1 - truth)
            noisy = latent[:, None] + bias[None, :] + rng.normal(0, noise_sd, (n_items, n_readers))
            rating = np.clip(np.rint(3 + noisy), 1, 5).astype(int)
            frame = pd.DataFrame({
                "item": np.repeat([f"t{t_index}-i{i:05d}" for i in range(n_items)], n_readers),
                "reader": np.tile(readers, n_items),
                "rating": rating.ravel(),
                "truth": np.repeat(truth, n_readers),
                "task": task,
            })
            if modality is not None:
                frame["modality"] = modality
            if forced_choice:
                centred = noisy - shift / 2
                frame["forced_choice"] = (centred > 0).astype(int).ravel()
                frame["confidence"] = np.clip(np.ceil(np.abs(centred) * 2), 1, 5).astype(int).ravel()
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)
