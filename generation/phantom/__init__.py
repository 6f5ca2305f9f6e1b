"""The procedural world: synthetic chest CT, radiographs, labels and reports from a seed.

Pure numpy/scipy (plus nibabel/Pillow for writing files); never imports Django or the web app.
Public entry points:

- ``make_case(seed, findings=None, shape=..., spacing_mm=...) -> PhantomCase``
- ``FINDING_NAMES`` (label order), ``make_finding``, ``parse_findings``, ``sample_findings``
- ``write_report`` / ``label_report`` (report writer and the rule-based labeler)
- ``write_dataset(out_dir, n, seed, ...)`` and ``main(argv)`` (``python -m generation.phantom``)
"""

from .case import (
    DEFAULT_SHAPE,
    DEFAULT_SPACING,
    VIEWER_SHAPE,
    VIEWER_SPACING,
    PhantomCase,
    make_case,
    make_report,
    nifti_affine,
)
from .errors import PhantomError
from .findings import FINDING_NAMES, Finding, make_finding, parse_findings, sample_findings
from .labeler import label_report, label_vector
from .report_writer import Report, write_cxr_report, write_report


def write_dataset(*args, **kwargs):
    """See ``generation.phantom.dataset.write_dataset`` (imported lazily: it pulls in tqdm)."""
    from .dataset import write_dataset as _w

    return _w(*args, **kwargs)


def main(argv=None) -> int:
    """See ``generation.phantom.dataset.main``."""
    from .dataset import main as _m

    return _m(argv)

__all__ = [
    "DEFAULT_SHAPE",
    "DEFAULT_SPACING",
    "FINDING_NAMES",
    "VIEWER_SHAPE",
    "VIEWER_SPACING",
    "Finding",
    "PhantomCase",
    "PhantomError",
    "Report",
    "label_report",
    "main",
    "label_vector",
    "make_case",
    "make_finding",
    "make_report",
    "nifti_affine",
    "parse_findings",
    "sample_findings",
    "write_cxr_report",
    "write_dataset",
    "write_report",
]
