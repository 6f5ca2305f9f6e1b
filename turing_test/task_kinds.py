"""The six Visual Turing Test task types and what an item of each is made of (no Django).

MedCoDi-M's five tasks (X-ray realism, report realism, report coherence with a real X-ray pair,
X-ray coherence with a real report, frontal/lateral pair coherence) generalised to CT and CXR,
plus CT–report coherence. For each kind: which modality the images are, which part of an item
carries the real/synthetic truth ("under test") and which parts are real references, the default
question and 1–5 anchors (editable per task), and the reader layout.
"""

from __future__ import annotations

from dataclasses import dataclass

CT = "ct"
CXR = "cxr"

IMAGE_REALISM = "image_realism"
REPORT_REALISM = "report_realism"
REPORT_IMAGE_COHERENCE = "report_image_coherence"
IMAGE_REPORT_COHERENCE = "image_report_coherence"
PAIR_COHERENCE = "pair_coherence"
CT_REPORT_COHERENCE = "ct_report_coherence"


@dataclass(frozen=True)
class KindSpec:
    key: str
    label: str
    modalities: tuple[str, ...]  # image modalities allowed for the task ("" = no image)
    under_test: str  # "image" | "report" | "view"
    needs_image: bool
    needs_report: bool
    question: str
    anchors: tuple[str, str, str, str, str]
    reference_note: str  # shown to the admin in the builder


KINDS: dict[str, KindSpec] = {
    IMAGE_REALISM: KindSpec(
        key=IMAGE_REALISM,
        label="Image realism (CT or chest X-ray)",
        modalities=(CT, CXR),
        under_test="image",
        needs_image=True,
        needs_report=False,
        question="How realistic is this image as a clinical examination?",
        anchors=(
            "Clearly artificial: implausible anatomy or obvious artefacts",
            "Mostly unrealistic: several implausible features",
            "Uncertain: some features look unnatural",
            "Mostly realistic: minor doubts",
            "Indistinguishable from a real clinical examination",
        ),
        reference_note="Real items: imported studies. Synthetic items: generation job outputs.",
    ),
    REPORT_REALISM: KindSpec(
        key=REPORT_REALISM,
        label="Report realism",
        modalities=("",),
        under_test="report",
        needs_image=False,
        needs_report=True,
        question="How realistic is this radiology report?",
        anchors=(
            "Clearly artificial: wrong terminology or incoherent",
            "Mostly unrealistic",
            "Uncertain",
            "Mostly realistic: minor oddities",
            "Indistinguishable from a report written by a radiologist",
        ),
        reference_note="Real items: reports of imported studies. Synthetic items: generated report text.",
    ),
    REPORT_IMAGE_COHERENCE: KindSpec(
        key=REPORT_IMAGE_COHERENCE,
        label="Report coherence with real image(s)",
        modalities=(CXR, CT),
        under_test="report",
        needs_image=True,
        needs_report=True,
        question="How well does this report describe the image(s)?",
        anchors=(
            "Contradicts the images",
            "Mostly inconsistent with the images",
            "Partly consistent",
            "Mostly consistent: minor omissions",
            "Fully consistent with the images",
        ),
        reference_note="Images are always real; the report is the study's own (real) or generated (synthetic).",
    ),
    IMAGE_REPORT_COHERENCE: KindSpec(
        key=IMAGE_REPORT_COHERENCE,
        label="Image coherence with a real report",
        modalities=(CXR, CT),
        under_test="image",
        needs_image=True,
        needs_report=True,
        question="How plausible is this image given the report?",
        anchors=(
            "Contradicts the report",
            "Mostly inconsistent with the report",
            "Partly consistent",
            "Mostly consistent: minor discrepancies",
            "Fully consistent with the report",
        ),
        reference_note="The report is always real; the image is the real one or generated from that report.",
    ),
    PAIR_COHERENCE: KindSpec(
        key=PAIR_COHERENCE,
        label="Frontal/lateral pair coherence",
        modalities=(CXR,),
        under_test="view",
        needs_image=True,
        needs_report=False,
        question="How consistent are the frontal and lateral views as one examination of one patient?",
        anchors=(
            "Clearly different patients or contradictory findings",
            "Mostly inconsistent",
            "Uncertain",
            "Mostly consistent",
            "Fully consistent: the same patient at the same time",
        ),
        reference_note="One view is always real; the other is the real companion view or a synthetic one.",
    ),
    CT_REPORT_COHERENCE: KindSpec(
        key=CT_REPORT_COHERENCE,
        label="CT–report coherence",
        modalities=(CT,),
        under_test="image",
        needs_image=True,
        needs_report=True,
        question="How well does this CT match the report?",
        anchors=(
            "Contradicts the report",
            "Mostly inconsistent with the report",
            "Partly consistent",
            "Mostly consistent: minor discrepancies",
            "Fully consistent with the report",
        ),
        reference_note="The report is always real; the CT is the real one or generated from that report.",
    ),
}

KIND_CHOICES = [(k, spec.label) for k, spec in KINDS.items()]
MODALITY_CHOICES = [(CT, "CT"), (CXR, "Chest X-ray"), ("", "None (reports only)")]


def kind_spec(kind: str) -> KindSpec:
    try:
        return KINDS[kind]
    except KeyError:
        raise ValueError(f"unknown task kind {kind!r}; choose one of {', '.join(KINDS)}") from None


def layout_for(*, kind: str, modality: str, n_images: int) -> str:
    """Reader layout: 'mpr' (CT three planes), 'cxr-1' / 'cxr-2' (one or two radiographs), each
    with '+report' when a report is shown, or 'report'."""
    spec = kind_spec(kind)
    if not spec.needs_image:
        return "report"
    base = "mpr" if modality == CT else ("cxr-2" if n_images >= 2 else "cxr-1")
    return f"{base}+report" if spec.needs_report else base
