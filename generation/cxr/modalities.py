"""The three CXR modalities and which of them may prompt the generation of each other."""

from __future__ import annotations

#: Image views, in the fixed order used for seeding and for stacking tensors.
VIEWS: tuple[str, ...] = ("frontal", "lateral")
REPORT = "report"
#: Every modality of the shared space.
MODALITIES: tuple[str, ...] = (*VIEWS, REPORT)

#: Inputs each output may be conditioned on (an output is never its own prompt).
PROMPTS_FOR: dict[str, tuple[str, ...]] = {
    "frontal": (REPORT, "lateral"),
    "lateral": (REPORT, "frontal"),
    REPORT: ("frontal", "lateral"),
}

#: DICOM ViewPosition written for each generated view (PA frontal, left lateral).
VIEW_POSITION: dict[str, str] = {"frontal": "PA", "lateral": "LL"}

#: Request modality -> image views it asks for.
REQUEST_VIEWS: dict[str, tuple[str, ...]] = {
    "cxr-frontal": ("frontal",),
    "cxr-lateral": ("lateral",),
    "cxr-both": ("frontal", "lateral"),
    "cxr-report": (),
}
