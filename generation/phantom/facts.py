"""What a phantom report states, as a fixed vector of binary facts (the report head's targets).

The label vector says *which* findings a case has; a report also says *where* and *how big*
("large right pleural effusion", "mass in the left lower lobe"). The CT report head
(``generation/training/report_head.py``) learns to read these facts from the report text, so
that the demo CT model is conditioned on a space in which right and left, small and large, are
far apart. Facts are derived from a case's ``parameters`` (``cases.csv``), never from its text.

Vocabulary, in order: the ten finding labels; side of pleural effusion and pneumothorax
(bilateral = both); sizes and severities as ordinal pairs ("at least moderate", "the largest
grade"); the lobe of each nodule, mass, consolidation and atelectasis.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import numpy as np

from .anatomy import LOBE_KEYS
from .findings import FINDING_NAMES, SEVERITIES, SIDES2, SIZES

#: parameters "finding" name -> label name, for the findings that sit in a lobe
_LOBAR = {"nodule": "lung_nodule", "mass": "lung_mass", "consolidation": "consolidation",
          "atelectasis": "atelectasis"}
#: findings graded small/moderate/large or mild/moderate/severe, and the field that grades them
_GRADED = {"pleural_effusion": ("size", SIZES), "pneumothorax": ("size", SIZES),
           "pericardial_effusion": ("size", SIZES), "cardiomegaly": ("severity", SEVERITIES),
           "emphysema": ("severity", SEVERITIES), "ground_glass_opacity": ("severity", SEVERITIES)}
_SIDED = ("pleural_effusion", "pneumothorax")

FACT_NAMES: tuple[str, ...] = (
    *FINDING_NAMES,
    *(f"{name}:{side}" for name in _SIDED for side in SIDES2),
    *(f"{name}:{grade}" for name, (_, scale) in _GRADED.items() for grade in scale[1:]),
    *(f"{label}:{lobe}" for label in _LOBAR.values() for lobe in LOBE_KEYS),
)


def report_facts(parameters: Mapping | str) -> np.ndarray:
    """float32 0/1 vector over FACT_NAMES from a case's parameters (dict or its JSON text)."""
    params = json.loads(parameters) if isinstance(parameters, str) else parameters
    index = {name: i for i, name in enumerate(FACT_NAMES)}
    facts = np.zeros(len(FACT_NAMES), dtype=np.float32)
    for name, value in (params.get("labels") or {}).items():
        if name not in index:
            raise ValueError(f"unknown finding label {name!r} in the case parameters")
        facts[index[name]] = float(value)
    for finding in params.get("findings") or []:
        name = finding.get("finding")
        label = _LOBAR.get(name, name)
        if name in _SIDED:
            side = finding.get("side")
            for s in SIDES2 if side == "bilateral" else (side,):
                facts[index[f"{name}:{s}"]] = 1.0
        if name in _GRADED:
            field, scale = _GRADED[name]
            # ordinal coding: "large" also sets "moderate" (at least moderate)
            for grade in scale[1 : scale.index(finding[field]) + 1]:
                facts[index[f"{name}:{grade}"]] = 1.0
        if name in _LOBAR and finding.get("lobe"):
            facts[index[f"{label}:{finding['lobe']}"]] = 1.0
    return facts
