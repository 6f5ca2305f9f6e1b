"""Chest CT reports (findings + impression) written from a phantom case, with varied phrasing.

The style follows real chest CT reports such as those quoted in the Report2CT paper (CT-RATE):
a findings section that walks through airways, mediastinum and heart, lungs, pleura, upper
abdomen and bones, stating normal anatomy and negating absent findings ("No pleural effusion or
pneumothorax."), sizes in mm or cm and locations in words; and an impression that lists the
abnormalities, or states a normal study. Phrases, their order and the way negations are grouped
are drawn from the case's report random stream, so that two reports of the same findings read
differently and a text encoder has to understand them rather than match templates.

``write_cxr_report`` writes a radiograph report for the DRRs of the same case, mentioning only
what a radiograph would show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .findings import LOBE_NAMES, Finding

ALT_LOBE = {
    "RUL": "upper lobe of the right lung",
    "RML": "middle lobe of the right lung",
    "RLL": "lower lobe of the right lung",
    "LUL": "upper lobe of the left lung",
    "LLL": "lower lobe of the left lung",
}
SIZE_WORDS = {
    "small": ("small", "small", "small-volume", "minimal"),
    "moderate": ("moderate", "moderate", "moderate-sized"),
    "large": ("large", "large", "large-volume"),
}
SEV_WORDS = {"mild": ("mild", "mild", "slight"), "moderate": ("moderate",), "severe": ("severe", "marked", "advanced")}


@dataclass
class Report:
    findings: str
    impression: str

    @property
    def text(self) -> str:
        return f"FINDINGS: {self.findings}\n\nIMPRESSION: {self.impression}"

    def as_dict(self) -> dict:
        return {"findings": self.findings, "impression": self.impression}


class _W:
    """Small helper around the report's random stream."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def pick(self, options):
        return options[int(self.rng.integers(len(options)))]

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def shuffle(self, items: list) -> list:
        items = list(items)
        self.rng.shuffle(items)
        return items


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


def _sentence(s: str) -> str:
    s = _cap(s.strip())
    return s if s.endswith(".") else s + "."


def _join_or(words: list[str], conj: str = "or") -> str:
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + f" {conj} " + words[-1]


def _a(phrase: str) -> str:
    """'a' or 'an' before a phrase."""
    p = phrase.lower()
    vowel = p[:1] in "aeiou" and not p.startswith("one")
    # numbers read aloud: "an 8 mm", "an 11 mm", "an 18 mm"
    num = p.startswith("8") or p.startswith("11 ") or p.startswith("11.") or p.startswith("18 ") or p.startswith("18.")
    return ("an " if vowel or num else "a ") + phrase


def _mm(w: _W, d: float, allow_cm: bool = True) -> str:
    if allow_cm and d >= 10 and w.chance(0.5):
        return f"{d / 10:.1f} cm"
    return f"{d:.0f} mm"


def _lobe(w: _W, f: Finding) -> str:
    key = f.lobe
    centre = getattr(f, "centre_mm", None)
    if key == "LUL" and centre is not None and centre[2] < -55.0 and centre[1] < 0 and w.chance(0.6):
        return w.pick(("lingula", "lingular segment of the left upper lobe"))
    return LOBE_NAMES[key] if w.chance(0.75) else ALT_LOBE[key]


def _side_phrase(w: _W, side: str) -> str:
    if side == "bilateral":
        return w.pick(("bilateral", "bilateral"))
    return w.pick((side, f"{side}-sided", side))


# ----------------------------------------------------------------------------------------------
# sentences per finding: (findings-section sentence, impression phrase)


def _effusion(w: _W, f) -> tuple[str, str]:
    size = w.pick(SIZE_WORDS[f.size])
    depth = _mm(w, f.depth_mm)
    if f.side == "bilateral":
        s = w.pick((
            f"{size} bilateral pleural effusions, measuring up to {depth} in thickness on the right",
            f"bilateral {size} pleural effusions are present, slightly larger on the right",
            f"there are {size} pleural effusions on both sides with dependent layering fluid",
        ))
        imp = w.pick((f"{_cap(f.size)} bilateral pleural effusions", f"Bilateral pleural effusions ({f.size})"))
    else:
        side = _side_phrase(w, f.side)
        s = w.pick((
            f"{size} {side} pleural effusion measuring up to {depth} in thickness",
            f"there is {_a(f'{size} {side} pleural effusion')}, with a maximal depth of {depth}",
            f"{_a(f'{size} pleural effusion')} is seen on the {f.side}, layering dependently ({depth})",
            f"{size} {side} pleural effusion",
        ))
        imp = w.pick((f"{_cap(f.size)} {f.side} pleural effusion", f"{_cap(f.side)} pleural effusion, {f.size}"))
    return _sentence(s), imp


def _pneumothorax(w: _W, f, rim_mm: float) -> tuple[str, str]:
    size = w.pick(SIZE_WORDS[f.size])
    side = _side_phrase(w, f.side)
    s = w.pick((
        f"{size} {side} pneumothorax with a maximal anterior rim of {_mm(w, rim_mm)}",
        f"there is {_a(f'{size} {side} pneumothorax')}, measuring {_mm(w, rim_mm)} at its greatest depth",
        f"{_a(f'{size} pneumothorax')} is present on the {f.side}; the visceral pleural line is displaced from the chest wall",
    ))
    imp = w.pick((f"{_cap(f.size)} {f.side} pneumothorax", f"{_cap(f.side)} pneumothorax ({f.size})"))
    return _sentence(s), imp


def _lesion(w: _W, f) -> tuple[str, str]:
    lobe = _lobe(w, f)
    dens = {
        "solid": ("solid", "solid", "soft-tissue density"),
        "ground_glass": ("ground-glass", "pure ground-glass", "non-solid"),
        "part_solid": ("part-solid", "part-solid", "subsolid"),
    }[f.density]
    margin = {
        "smooth": ("smooth", "well-defined", "well-circumscribed"),
        "lobulated": ("lobulated", "lobulated"),
        "spiculated": ("spiculated", "irregular spiculated"),
    }[f.margin]
    d = f.diameter_mm
    dw, mw = w.pick(dens), w.pick(margin)
    if f.kind == "mass":
        d2 = d * w.rng.uniform(0.8, 0.95)
        size = f"{d / 10:.1f} x {d2 / 10:.1f} cm"
        s = w.pick((
            f"{_a(f'{mw} {dw} mass')} is present in the {lobe}, measuring {size}",
            f"there is {_a(f'{size} {mw} mass')} in the {lobe}",
            f"{mw} soft-tissue mass in the {lobe} measuring approximately {d / 10:.1f} cm",
        ))
        sus = "highly suspicious for primary lung malignancy" if f.margin == "spiculated" else "suspicious for malignancy"
        imp = w.pick((f"{_cap(mw)} {LOBE_NAMES[f.lobe]} mass, {sus}",
                      f"{d / 10:.1f} cm mass in the {LOBE_NAMES[f.lobe]}, {sus}; tissue sampling is recommended"))
        return _sentence(s), imp
    size = _mm(w, d)
    extra = ""
    if f.density == "part_solid":
        extra = w.pick((" with a solid component", " containing a solid component", ""))
    s = w.pick((
        f"{_a(f'{size} {mw} {dw} nodule')}{extra} is seen in the {lobe}",
        f"there is {_a(dw)} nodule{extra} in the {lobe} measuring {size}, with {mw} margins",
        f"{size} {dw} nodule with {mw} margins in the {lobe}",
        f"in the {lobe}, {_a(f'{mw} {dw} nodule')} measuring {size} is noted",
    ))
    if f.margin == "spiculated" and d >= 8:
        tail = w.pick(("suspicious for malignancy", "further evaluation is recommended"))
    elif d < 6:
        tail = w.pick(("likely benign", "no routine follow-up needed in a low-risk patient", "follow-up CT is optional"))
    else:
        tail = w.pick(("follow-up CT recommended", "recommend follow-up CT in 3 to 6 months"))
    imp = f"{size} {dw} nodule in the {LOBE_NAMES[f.lobe]}; {tail}"
    return _sentence(s), imp


def _consolidation(w: _W, f) -> tuple[str, str]:
    lobe = _lobe(w, f)
    ab = ""
    if f.air_bronchograms:
        ab = w.pick((" with air bronchograms", " containing air bronchograms", " with internal air bronchograms"))
    if f.extent == "lobar":
        s = w.pick((
            f"dense consolidation{ab} involving the entire {lobe}",
            f"lobar consolidation of the {lobe}{ab}",
            f"the {lobe} is consolidated{ab}",
        ))
    else:
        s = w.pick((
            f"patchy airspace consolidation{ab} in the {lobe}",
            f"there is a segmental area of consolidation{ab} in the {lobe}",
            f"focal consolidation{ab} is seen in the {lobe}",
        ))
    imp = w.pick((f"{_cap(LOBE_NAMES[f.lobe])} consolidation, consistent with pneumonia in the appropriate clinical setting",
                  f"Consolidation in the {LOBE_NAMES[f.lobe]}, likely infectious"))
    return _sentence(s), imp


def _ggo(w: _W, f) -> tuple[str, str]:
    amount = {"mild": ("a few scattered", "scattered", "patchy"), "moderate": ("multifocal", "multiple"),
              "severe": ("extensive", "widespread", "diffuse")}[f.severity]
    cp = ""
    if f.crazy_paving:
        cp = w.pick((" with superimposed interlobular septal thickening (crazy-paving pattern)",
                     " with a crazy-paving pattern in places"))
    s = w.pick((
        f"{w.pick(amount)} ground-glass opacities in both lungs, predominantly peripheral and in the lower lobes{cp}",
        f"ground-glass areas are observed in both lungs{cp}, more prominent in the subpleural regions and lower lobes",
        f"bilateral {w.pick(amount)} peripheral ground-glass opacities{cp}",
    ))
    imp = w.pick((
        "Bilateral peripheral ground-glass opacities, consistent with viral pneumonia",
        "Findings consistent with viral pneumonia in both lungs",
        "Bilateral ground-glass opacities; viral pneumonia (such as COVID-19) should be considered",
    ))
    return _sentence(s), imp


def _atelectasis(w: _W, f) -> tuple[str, str]:
    lobe = _lobe(w, f)
    if f.kind == "lobar":
        s = w.pick((
            f"complete collapse of the {lobe} with volume loss (lobar atelectasis)",
            f"atelectasis of the {lobe} with volume loss",
            f"the {lobe} is collapsed (lobar atelectasis)",
        ))
        imp = f"{_cap(LOBE_NAMES[f.lobe])} atelectasis"
        return _sentence(s), imp
    s = w.pick((
        f"linear atelectasis in the {lobe}",
        f"plate-like atelectasis is seen in the {lobe}",
        f"subsegmental atelectatic bands in the {lobe}",
    ))
    imp = w.pick((f"Linear atelectasis in the {LOBE_NAMES[f.lobe]}", f"Subsegmental atelectasis, {LOBE_NAMES[f.lobe]}"))
    return _sentence(s), imp


def _emphysema(w: _W, f) -> tuple[str, str]:
    sev = w.pick(SEV_WORDS[f.severity])
    if f.kind == "centrilobular":
        s = w.pick((
            f"{sev} centrilobular emphysema, predominantly in the upper lobes",
            f"centrilobular emphysematous changes of {sev} degree, most pronounced in both upper lobes",
        ))
    elif f.kind == "paraseptal":
        s = w.pick((
            f"{sev} paraseptal emphysema with subpleural bullae at the lung apices",
            f"paraseptal emphysematous changes with subpleural bullae, {sev}",
        ))
    else:
        s = w.pick((
            f"{sev} panlobular emphysema, most pronounced in the lower lobes",
            f"diffuse panlobular emphysema of {sev} degree with lower-lobe predominance",
        ))
    imp = f"{_cap(f.severity)} {f.kind} emphysema"
    return _sentence(s), imp


def _cardiomegaly(w: _W, f, ctr: float | None) -> tuple[str, str]:
    sev = w.pick(SEV_WORDS[f.severity])
    adv = w.pick({"mild": ("mildly", "slightly"), "moderate": ("moderately",),
                  "severe": ("markedly", "severely")}[f.severity])
    ctr_txt = f" (cardiothoracic ratio approximately {ctr:.2f})" if ctr and w.chance(0.5) else ""
    s = w.pick((
        f"the heart is {adv} enlarged{ctr_txt}",
        f"{sev} cardiomegaly{ctr_txt}",
        f"the cardiac silhouette is enlarged{ctr_txt}",
    ))
    imp = w.pick(("Cardiomegaly", f"{_cap(f.severity)} cardiomegaly"))
    return _sentence(s), imp


def _pericardial(w: _W, f) -> tuple[str, str]:
    size = w.pick(SIZE_WORDS[f.size])
    s = w.pick((
        f"{size} pericardial effusion measuring up to {f.thickness_mm:.0f} mm in thickness",
        f"there is {_a(f'{size} pericardial effusion')} ({f.thickness_mm:.0f} mm)",
        f"{_a(f'{size} amount')} of pericardial fluid is present",
    ))
    imp = f"{_cap(f.size)} pericardial effusion"
    return _sentence(s), imp


# ----------------------------------------------------------------------------------------------
# normal statements and negations

NEG_TERMS = {
    "pleural_effusion": ("pleural effusion",),
    "pneumothorax": ("pneumothorax",),
    "lung_nodule": ("pulmonary nodule", "nodule", "suspicious nodule"),
    "lung_mass": ("mass", "lung mass"),
    "consolidation": ("consolidation", "focal consolidation"),
    "ground_glass_opacity": ("ground-glass opacity", "ground-glass density"),
    "atelectasis": ("atelectasis",),
    "emphysema": ("emphysema",),
}


def _negations(w: _W, absent: set[str]) -> tuple[list[str], list[str]]:
    """Negated statements for absent findings: (lung section, pleura section)."""
    lung, pleura = [], []
    lung_terms = [k for k in ("consolidation", "ground_glass_opacity", "lung_nodule", "lung_mass", "atelectasis",
                              "emphysema") if k in absent]
    if {"lung_nodule", "lung_mass"} <= absent and w.chance(0.5):
        lung.append(w.pick(("No mass or nodule was detected in either lung.",
                            "No pulmonary nodule or mass.", "There is no lung mass or suspicious nodule.")))
        lung_terms = [k for k in lung_terms if k not in ("lung_nodule", "lung_mass")]
    if lung_terms:
        groups: list[list[str]] = []
        for k in w.shuffle(lung_terms):
            if groups and len(groups[-1]) < 3 and w.chance(0.6):
                groups[-1].append(k)
            else:
                groups.append([k])
        for g in groups:
            words = _join_or([w.pick(NEG_TERMS[k]) for k in g])
            lung.append(w.pick((f"No {words}.", f"There is no {words}.", f"No {words} is seen.",
                                f"No evidence of {words}.", f"{_cap(words)} was not detected.")))
    pl = [k for k in ("pleural_effusion", "pneumothorax") if k in absent]
    if pl:
        words = _join_or([NEG_TERMS[k][0] for k in pl])
        pleura.append(w.pick((f"No {words}.", f"There is no {words}.", f"No {words} was detected.",
                              f"{_cap(words)} was not observed.")))
    return lung, pleura


def write_report(findings: list[Finding], anatomy: dict, rng: np.random.Generator,
                 measurements: dict | None = None) -> Report:
    """Findings and impression for a case (``anatomy`` is ``Anatomy.summary()``)."""
    w = _W(rng)
    meas = measurements or {}
    present = set()
    for f in findings:
        present |= f.labels()
    all_labels = {"pleural_effusion", "pneumothorax", "lung_nodule", "lung_mass", "consolidation",
                  "ground_glass_opacity", "atelectasis", "emphysema", "cardiomegaly", "pericardial_effusion"}
    absent = all_labels - present
    by = {}
    for f in findings:
        by.setdefault(f.name, []).append(f)

    sections: list[list[str]] = []
    imp: list[tuple[int, str]] = []
    # airways
    sections.append([w.pick((
        "Trachea and both main bronchi are patent.",
        "Trachea and both main bronchi are open. No occlusive pathology was detected in the trachea and both main bronchi.",
        "The trachea and main bronchi are patent with no endoluminal lesion.",
        "Central airways are patent.",
    ))])
    # mediastinum, heart, vessels
    med: list[str] = []
    if "cardiomegaly" in by:
        s, i = _cardiomegaly(w, by["cardiomegaly"][0], meas.get("cardiothoracic_ratio"))
        med.append(s)
        imp.append((3, i))
    else:
        med.append(w.pick(("Heart size is normal.", "The heart is of normal size.", "Heart contour and size are normal.",
                           "Cardiac size is within normal limits.")))
    if "pericardial_effusion" in by:
        s, i = _pericardial(w, by["pericardial_effusion"][0])
        med.append(s)
        imp.append((3, i))
    else:
        med.append(w.pick(("No pericardial effusion.", "Pericardial effusion-thickening was not observed.",
                           "There is no pericardial effusion or thickening.")))
    med.append(w.pick(("Thoracic aorta is of normal calibre.", "Mediastinal main vascular structures are of normal calibre.",
                       f"The ascending aorta measures {anatomy.get('ascending_aorta_mm', 32):.0f} mm.",
                       "Thoracic aortic diameter is normal.")))
    if anatomy.get("aortic_calcifications", 0) > 0:
        med.append(w.pick(("Atherosclerotic calcifications are seen in the aortic arch and descending aorta.",
                           "Calcified atherosclerotic plaques in the thoracic aorta.")))
    if anatomy.get("coronary_calcifications", 0) > 0:
        med.append(w.pick(("Coronary artery calcifications are noted.", "Calcified plaques in the coronary arteries.")))
    med.append(w.pick((
        "No pathologically enlarged mediastinal or hilar lymph nodes.",
        "No lymph node was detected in pathological size in the mediastinum or hilar regions.",
        "There is no mediastinal or hilar lymphadenopathy.",
    )))
    if w.chance(0.4):
        med.append("The thoracic esophagus is unremarkable.")
    sections.append(med)
    # lungs
    lung: list[str] = []
    if w.chance(0.35):
        lung.append(w.pick(("When examined in the lung parenchyma window:", "Lung parenchyma:", "Lungs:")))
    for name, fn in (("emphysema", _emphysema), ("ground_glass_opacity", _ggo), ("consolidation", _consolidation),
                     ("nodule", _lesion), ("atelectasis", _atelectasis)):
        for f in by.get(name, []):
            s, i = fn(w, f)
            lung.append(s)
            prio = {"nodule": 1 if f.name == "nodule" and getattr(f, "kind", "") == "mass" else 2}.get(name, 2)
            imp.append((prio, i))
    neg_lung, neg_pleura = _negations(w, absent)
    if not (present & {"consolidation", "ground_glass_opacity", "lung_nodule", "lung_mass", "atelectasis",
                       "emphysema"}) and w.chance(0.5):
        lung.append(w.pick(("The lungs are clear.", "Lung parenchyma is otherwise normal.", "Both lungs are well aerated.")))
    lung += neg_lung
    sections.append(lung)
    # pleura
    pleura: list[str] = []
    for f in by.get("pleural_effusion", []):
        s, i = _effusion(w, f)
        pleura.append(s)
        imp.append((1, i))
    for f in by.get("pneumothorax", []):
        s, i = _pneumothorax(w, f, meas.get(f"pneumothorax_rim_mm_{f.side}", 20.0))
        pleura.append(s)
        imp.append((0, i))
    pleura += neg_pleura
    sections.append(pleura)
    # upper abdomen and bones
    sections.append([w.pick((
        "Upper abdominal organs included in the sections are unremarkable.",
        "The visualized upper abdomen is unremarkable.",
        "Limited images of the upper abdomen show no acute abnormality.",
    ))])
    bones = [w.pick(("No lytic or destructive bone lesion.", "Bone structures in the study area are intact.",
                     "No lytic-destructive lesions were detected in the bone structures within the sections."))]
    if anatomy.get("age", 50) > 62 and w.chance(0.6):
        bones.insert(0, "Degenerative changes of the thoracic spine.")
    sections.append(bones)

    findings_text = " ".join(s for sec in sections for s in sec if s)
    if not imp:
        impression = w.pick(("No acute cardiopulmonary abnormality.", "Normal CT of the chest.",
                             "No significant pathology in the thorax.", "Unremarkable chest CT."))
    else:
        imp.sort(key=lambda t: t[0])
        items = [t[1] for t in imp]
        if anatomy.get("coronary_calcifications", 0) > 0 and w.chance(0.3):
            items.append("Coronary artery calcification")
        if len(items) > 1 and w.chance(0.5):
            impression = " ".join(f"{k + 1}. {_sentence(s)}" for k, s in enumerate(items))
        else:
            impression = " ".join(_sentence(s) for s in items)
    return Report(findings_text, impression)


# ----------------------------------------------------------------------------------------------
# radiograph report


def cxr_visible_labels(findings: list[Finding]) -> set[str]:
    """Labels a PA + lateral radiograph of this case would show."""
    out: set[str] = set()
    for f in findings:
        if f.name == "nodule":
            if f.kind == "mass" or (f.density != "ground_glass" and f.diameter_mm >= 8):
                out |= f.labels()
        elif f.name == "ground_glass_opacity":
            if f.severity != "mild":
                out.add("ground_glass_opacity")
        elif f.name == "emphysema":
            if f.severity != "mild":
                out.add("emphysema")
        elif f.name == "atelectasis":
            out.add("atelectasis")
        elif f.name == "pericardial_effusion":
            if f.size != "small":
                out.add("cardiomegaly")  # a water-bottle silhouette reads as an enlarged heart
        else:
            out |= f.labels()
    return out


def write_cxr_report(findings: list[Finding], rng: np.random.Generator) -> Report:
    """A PA and lateral chest radiograph report of the same case (MIMIC-CXR-like wording)."""
    w = _W(rng)
    vis = cxr_visible_labels(findings)
    lines: list[str] = [w.pick(("PA and lateral views of the chest.", "Frontal and lateral radiographs of the chest."))]
    imp: list[str] = []
    if "cardiomegaly" in vis:
        lines.append(w.pick(("The cardiac silhouette is enlarged.", "Cardiomegaly.")))
        imp.append("Cardiomegaly")
    else:
        lines.append(w.pick(("Heart size is normal.", "The cardiomediastinal silhouette is within normal limits.")))
    for f in findings:
        if f.name == "pleural_effusion":
            side = "bilateral" if f.side == "bilateral" else f.side
            lines.append(_sentence(f"{w.pick(SIZE_WORDS[f.size])} {side} pleural effusion"
                                   + ("s" if side == "bilateral" else "")))
            imp.append(f"{_cap(f.size)} {side} pleural effusion" + ("s" if side == "bilateral" else ""))
        elif f.name == "pneumothorax":
            lines.append(_sentence(f"{f.size} {f.side} apical pneumothorax"))
            imp.append(f"{_cap(f.side)} pneumothorax")
        elif f.name == "consolidation":
            lines.append(_sentence(f"consolidation in the {LOBE_NAMES[f.lobe]}"))
            imp.append(f"{_cap(LOBE_NAMES[f.lobe])} consolidation, compatible with pneumonia")
        elif f.name == "nodule" and f.labels() & vis:
            word = "mass" if f.kind == "mass" else "nodule"
            lines.append(_sentence(f"{f.diameter_mm / 10:.1f} cm {word} projecting over the {LOBE_NAMES[f.lobe]}"))
            imp.append(f"{_cap(LOBE_NAMES[f.lobe])} {word}; CT recommended")
        elif f.name == "ground_glass_opacity" and "ground_glass_opacity" in vis:
            lines.append("Bilateral hazy ground-glass opacities in the lower zones.")
            imp.append("Bilateral ground-glass opacities, possibly viral pneumonia")
        elif f.name == "atelectasis":
            lines.append(_sentence(f"{'linear' if f.kind == 'linear' else 'lobar'} atelectasis in the {LOBE_NAMES[f.lobe]}"))
            imp.append("Atelectasis")
        elif f.name == "emphysema" and "emphysema" in vis:
            lines.append("The lungs are hyperinflated with flattened hemidiaphragms, consistent with emphysema.")
            imp.append("Emphysema")
    neg = [t for t, k in (("focal consolidation", "consolidation"), ("pleural effusion", "pleural_effusion"),
                          ("pneumothorax", "pneumothorax")) if k not in vis]
    if neg:
        lines.append(_sentence(f"no {_join_or(neg)}"))
    impression = " ".join(_sentence(s) for s in imp) if imp else w.pick(
        ("No acute cardiopulmonary process.", "No acute intrathoracic abnormality."))
    return Report(" ".join(lines), impression)
