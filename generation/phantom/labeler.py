"""Rule-based, negation-aware labeler: chest CT / CXR report text -> label vector.

Used to score generated reports against the label vector of the case they were generated for
(and to check that the phantom's own reports say what the phantom shows). The design follows
NegEx / the CheXpert labeler in spirit, written from scratch:

1. normalise (lower case, unify hyphens, "ground-glass" -> "ground glass");
2. split into sentences, then into clauses at contrastive conjunctions ("but", "however", ";")
   so that "No pleural effusion, but a small pneumothorax" negates only the effusion;
3. find mentions of each finding with regular expressions (synonyms included, and the
   pleural/pericardial "effusion" ambiguity resolved by masking pericardial mentions first);
4. a mention is negated by a trigger before it in its clause ("no", "without", "negative for",
   "neither ... nor", "free of", "absence of") unless a scope terminator ("with", "and a") sits
   in between, or by a trigger after it ("... was not detected", "... is absent",
   "... has resolved"); pseudo-negations ("no change", "no interval change") are ignored;
   hedged mentions ("possible", "cannot be excluded") count as positive;
5. a label is 1 when at least one mention is not negated.
"""

from __future__ import annotations

import re

import numpy as np

from .findings import FINDING_NAMES

_PATTERNS: dict[str, list[str]] = {
    "pericardial_effusion": [
        r"pericardial (?:effusion|fluid|collection)", r"hydropericardium", r"pericardial effusion thickening",
    ],
    "pleural_effusion": [
        r"pleural (?:effusion|fluid|collection)s?", r"hydrothora(?:x|ces)", r"\beffusions?\b",
    ],
    "pneumothorax": [r"pneumothora(?:x|ces)", r"\bptx\b"],
    "lung_nodule": [r"\bnodul(?:e|es|ar|i)\b", r"micronodul\w*"],
    "lung_mass": [r"\bmass(?:es)?\b(?! effect)"],
    "consolidation": [r"consolidat\w*", r"air ?space (?:disease|opacit\w*|opacification)"],
    "ground_glass_opacity": [
        r"ground glass (?:opacit\w*|areas?|densit\w*|attenuation|changes?|infiltrat\w*|pattern|opacification)",
        r"\bggos?\b", r"crazy paving",
    ],
    "atelectasis": [
        r"atelecta\w*",
        r"collapse of the (?:right |left )?(?:upper|middle|lower) lobe",
        r"(?:upper|middle|lower) lobe (?:is )?collapse",
        r"(?:lobar|lobe) collapse",
        r"(?:upper|middle|lower) lobe is collapsed",
    ],
    "emphysema": [r"emphysem\w*", r"\bbullae\b", r"\bbullous\b", r"\bbulla\b"],
    "cardiomegaly": [
        r"cardiomegaly",
        r"(?:heart|cardiac silhouette|cardiac shadow|cardiac size|heart size|cardiac contour)"
        r" (?:is |appears |was )?(?:\w+ly )?(?:enlarged|increased)",
        r"enlarge(?:d|ment of the) (?:heart|cardiac)",
        r"cardiac enlargement",
    ],
}
_COMPILED = {k: [re.compile(p) for p in v] for k, v in _PATTERNS.items()}
# pericardial mentions are read (and then blanked) first, so that their word "effusion" is not
# taken for a pleural effusion
_ORDER = ("pericardial_effusion",) + tuple(n for n in FINDING_NAMES if n != "pericardial_effusion")

_PRE_NEG = re.compile(
    r"\b(?:no|not|without|negative for|free of|absence of|absent|neither|nor|rule out|ruled out|"
    r"resolution of|resolved|clear of|exclude[sd]?)\b"
)
_PSEUDO = re.compile(
    r"\b(?:no (?:significant |interval )?change|not changed|no increase|no decrease|not only|"
    r"cannot be excluded|can not be excluded|not be excluded|not excluded|no longer)\b"
)
_POST_NEG = re.compile(
    r"^[^.]*?\b(?:(?:is|are|was|were|has been|have been)\s+)?(?:not|no longer)\s+"
    r"(?:seen|identified|detected|observed|present|demonstrated|evident|visuali[sz]ed|appreciated|noted|found)\b"
    r"|^\s*(?:is|are|was|were)?\s*(?:absent|resolved)\b|^[^.]{0,40}\bhas resolved\b"
)
_TERMINATORS = re.compile(r"\b(?:with(?! no\b)(?! the exception)|and an?|which|while|whereas|there is an?)\b")
_UNCERTAIN = re.compile(r"\b(?:cannot be excluded|can not be excluded|not be excluded|not excluded)\b")
_CLAUSE_SPLIT = re.compile(r"\s*(?:;|\bbut\b|\bhowever\b|\balthough\b|\bexcept\b)\s*")
_SENT_SPLIT = re.compile(r"(?<=[.!?])\s+|\n+|(?<=\d)\.\s")


def normalise(text: str) -> str:
    t = text.lower()
    t = re.sub(r"[\u2010-\u2015]", "-", t)
    t = t.replace("ground-glass", "ground glass").replace("air-space", "air space")
    t = re.sub(r"crazy[- ]paving", "crazy paving", t)
    t = re.sub(r"effusion-thickening", "effusion thickening", t)
    t = re.sub(r"\s+", " ", t)
    return t


def split_sentences(text: str) -> list[str]:
    """The sentences of a report section, stripped, empty ones dropped (case kept)."""
    return [s.strip() for s in _SENT_SPLIT.split(text) if s.strip()]


def _clauses(text: str) -> list[str]:
    out = []
    for s in split_sentences(normalise(text)):
        out.extend(c for c in _CLAUSE_SPLIT.split(s) if c.strip())
    return out


def _negated(clause: str, start: int, end: int) -> bool:
    before = clause[:start]
    after = clause[end:]
    if _UNCERTAIN.search(after[:60]):
        return False  # hedged: counts as a positive mention
    cleaned = _PSEUDO.sub(" ", before)
    last = None
    for m in _PRE_NEG.finditer(cleaned):
        last = m
    if last is not None:
        # a terminator between the trigger and the mention ends the negation's scope
        if not _TERMINATORS.search(cleaned[last.end():]):
            return True
    if _POST_NEG.search(after):
        # the post-trigger must belong to this mention, not to a later one after "with"/"and a"
        m = _TERMINATORS.search(after)
        pm = _POST_NEG.search(after)
        if m is None or pm.end() <= m.start() or pm.start() < m.start():
            return True
    return False


def _mentions(clause: str, name: str):
    spans = []
    for rx in _COMPILED[name]:
        for m in rx.finditer(clause):
            spans.append((m.start(), m.end()))
    return spans


def label_report(text: str) -> dict[str, int]:
    """Label a report (findings and/or impression) -> {finding name: 0 or 1}."""
    found = dict.fromkeys(FINDING_NAMES, 0)
    for clause in _clauses(text or ""):
        work = clause
        # "pleural and pericardial effusion(s)": both; then mask pericardial mentions so the
        # bare word "effusion" in them is not read as pleural
        both = re.search(r"pleural (?:and|or|nor|/) pericardial effusions?|pericardial (?:and|or|nor|/) pleural effusions?",
                         work)
        if both:
            neg = _negated(work, both.start(), both.end())
            if not neg:
                found["pleural_effusion"] = found["pericardial_effusion"] = 1
            work = work[: both.start()] + " " * (both.end() - both.start()) + work[both.end():]
        for name in _ORDER:
            for s, e in _mentions(work, name):
                if name == "ground_glass_opacity" and re.match(r"\s*(?:\w+\s+){0,2}(?:nodul|component|halo)",
                                                               work[e:]):
                    continue  # describes a nodule, not the ground-glass pattern
                if not _negated(work, s, e):
                    found[name] = 1
            if name == "pericardial_effusion":
                for rx in _COMPILED[name]:
                    work = rx.sub(lambda m: " " * len(m.group(0)), work)
    return found


def label_vector(text: str) -> np.ndarray:
    """0/1 vector over FINDING_NAMES for a report."""
    d = label_report(text)
    return np.array([d[k] for k in FINDING_NAMES], dtype=np.int8)


def f1_scores(true: np.ndarray, pred: np.ndarray) -> dict:
    """Per-label, micro and macro F1 of predicted vs true (n, L) 0/1 arrays."""
    true = np.asarray(true, dtype=bool)
    pred = np.asarray(pred, dtype=bool)
    tp = (true & pred).sum(0)
    fp = (~true & pred).sum(0)
    fn = (true & ~pred).sum(0)
    denom = 2 * tp + fp + fn
    per = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 1.0)
    micro = 2 * tp.sum() / max(1, 2 * tp.sum() + fp.sum() + fn.sum())
    return {
        "per_label": {k: float(v) for k, v in zip(FINDING_NAMES, per, strict=True)},
        "micro": float(micro),
        "macro": float(per.mean()),
    }
