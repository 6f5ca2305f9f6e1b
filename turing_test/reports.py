"""One presentation format for every report a reader sees, real or synthetic (no Django).

``report_normalise`` turns findings and impression into::

    FINDINGS:
    <sentences>

    IMPRESSION:
    <sentences>

Whatever the source looked like — upper case, lower case, bullet lists, numbered lists, tokenised
text with spaces before punctuation, section labels repeated inside the text, stray line breaks —
the output has the same shape: sentence case (with common radiology acronyms restored), one space
between words, each former bullet a sentence ending in a full stop, one paragraph per section.
Style cues that could tell a generator's output from a radiologist's dictation are removed; the
content is not touched.
"""

from __future__ import annotations

import re

EMPTY_SECTION = "None."

# Kept upper case after lower-casing everything (whole words only).
ACRONYMS = (
    "AP", "PA", "CT", "CXR", "MRI", "ICD", "PICC", "NG", "OG", "ET", "ETT", "IVC", "SVC", "IJ",
    "COPD", "CHF", "ARDS", "ICU", "HU", "LV", "RV", "LA", "RA", "AICD", "PE", "TB", "CABG", "MVR",
    "AVR", "NGT", "CVC", "EKG", "ECG", "RUL", "RML", "RLL", "LUL", "LLL", "IV",
)
_ACRONYM_RE = re.compile(r"\b(" + "|".join(a.lower() for a in ACRONYMS) + r")\b")
_LABEL_RE = re.compile(r"^\s*(findings?|impressions?|conclusions?)\s*:\s*", re.IGNORECASE)
_BULLET_RE = re.compile(r"^\s*(?:[-*•·▪‣–—>]+|\(?\d{1,2}[.)]|\(?[a-hA-H][.)])\s+")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"\s+([.,;:!?%)])")
_SPACE_AFTER_OPEN_RE = re.compile(r"([(])\s+")
_MULTI_PERIOD_RE = re.compile(r"\.(\s*\.)+")
_SENTENCE_START_RE = re.compile(r"(^|[.!?]\s+)([a-z])")


def _section_text(raw: str) -> str:
    text = (raw or "").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    lines = [line.strip() for line in text.split("\n")]
    pieces: list[str] = []
    paragraph_break = False
    for line in lines:
        if not line:
            paragraph_break = True
            continue
        line = _LABEL_RE.sub("", line)
        bullet = bool(_BULLET_RE.match(line))
        line = _BULLET_RE.sub("", line).strip()
        if not line:
            continue
        if (bullet or paragraph_break) and pieces and not pieces[-1].endswith((".", "!", "?")):
            pieces[-1] += "."
        paragraph_break = False
        pieces.append(line)
    joined = " ".join(pieces)
    joined = re.sub(r"\s+", " ", joined).strip()
    if not joined:
        return EMPTY_SECTION
    joined = _SPACE_BEFORE_PUNCT_RE.sub(r"\1", joined)
    joined = _SPACE_AFTER_OPEN_RE.sub(r"\1", joined)
    joined = joined.lower()
    joined = _MULTI_PERIOD_RE.sub(".", joined)
    joined = re.sub(r"([.!?])(?=[a-z])", r"\1 ", joined)  # "effusion.no" -> "effusion. no"
    joined = re.sub(r"(\d)\. (\d)", r"\1.\2", joined)  # keep decimals like 1.5
    if not joined.endswith((".", "!", "?")):
        joined += "."
    joined = _ACRONYM_RE.sub(lambda m: m.group(1).upper(), joined)
    joined = _SENTENCE_START_RE.sub(lambda m: m.group(1) + m.group(2).upper(), joined)
    return joined


def report_normalise(*, findings: str, impression: str) -> str:
    """The one format readers see: ``FINDINGS:\\n…\\n\\nIMPRESSION:\\n…``."""
    return f"FINDINGS:\n{_section_text(findings)}\n\nIMPRESSION:\n{_section_text(impression)}"


def report_sections(text: str) -> tuple[str, str]:
    """Split a normalised report back into (findings, impression)."""
    match = re.match(r"^FINDINGS:\n(.*)\n\nIMPRESSION:\n(.*)$", text or "", re.DOTALL)
    if not match:
        return (text or "").strip(), ""
    return match.group(1), match.group(2)
