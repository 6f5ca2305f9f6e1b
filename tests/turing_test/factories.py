"""Small real-looking and synthetic-looking DICOM cases for the Visual Turing Test tests.

"Real" cases imitate scanner output (vendor, dates, private tags, CR/MONOCHROME1 radiographs,
odd matrix sizes, an off-centre origin); "synthetic" ones are what the generator writes
(SyntheticData YES, DERIVED, other matrix and spacing). The presentation copies must erase all of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid

from webapp.dicom.codec import write_ct_series, write_dx_image

CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"


def _phantom(shape, rng, noise):
    z, y, x = np.mgrid[0 : shape[0], 0 : shape[1], 0 : shape[2]]
    cz, cy, cx = (s / 2 for s in shape)
    body = ((y - cy) / (shape[1] * 0.42)) ** 2 + ((x - cx) / (shape[2] * 0.45)) ** 2 < 1
    lung = (((y - cy) / (shape[1] * 0.3)) ** 2 + ((np.abs(x - cx) - shape[2] * 0.2) / (shape[2] * 0.15)) ** 2) < 1
    vol = np.full(shape, -1000.0)
    vol[body] = 40.0
    vol[body & lung] = -850.0
    vol += rng.normal(0, noise, shape)
    return vol


def write_real_ct(folder: Path, seed: int, *, shape=(10, 40, 36), spacing=(2.0, 0.8, 0.8)) -> Path:
    rng = np.random.default_rng(seed)
    write_ct_series(
        _phantom(shape, rng, 25.0), spacing, folder, synthetic=False,
        origin_mm=(-180.0, -200.0, -1250.0 - seed),
        patient={"PatientName": f"DOE^JOHN{seed}", "PatientID": f"MRN{seed:05d}", "PatientBirthDate": "19600101"},
        study={"StudyDate": "20190314", "StudyTime": "101500", "AccessionNumber": f"ACC{seed}", "StudyDescription": "CT THORAX"},
        extra={"Manufacturer": "ACME", "ManufacturerModelName": "Scanner 9000", "InstitutionName": "General Hospital"},
    )
    for path in folder.glob("*.dcm"):  # a vendor private tag, as scanners write
        ds = pydicom.dcmread(path)
        ds.private_block(0x0029, "ACME 1.0", create=True).add_new(0x01, "LO", "recon=B30f")
        ds.save_as(path)
    return folder


def write_synthetic_ct(folder: Path, seed: int, *, shape=(8, 32, 32), spacing=(2.5, 1.2, 1.2)) -> Path:
    rng = np.random.default_rng(seed)
    write_ct_series(_phantom(shape, rng, 8.0), spacing, folder, synthetic=True, series_description=f"RadSynth demo seed {seed}")
    return folder


def _radiograph(shape, rng, noise):
    y, x = np.mgrid[0 : shape[0], 0 : shape[1]]
    img = 0.7 - 0.4 * (((y - shape[0] / 2) / shape[0]) ** 2 + ((x - shape[1] / 2) / shape[1]) ** 2)
    img += rng.normal(0, noise, shape)
    return np.clip(img, 0, 1)


def write_real_cxr(folder: Path, seed: int, *, views=("PA", "LL"), shape=(96, 80)) -> Path:
    """A CR-style pair: CR SOP class, MONOCHROME1, 16-bit, vendor header, private tag."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    study = {"StudyInstanceUID": generate_uid(), "StudyDate": "20180102", "StudyDescription": "CHEST 2 VIEWS"}
    for number, view in enumerate(views, start=1):
        path = folder / f"{view}.dcm"
        write_dx_image(
            (_radiograph(shape, rng, 0.03) * 4000).astype(np.uint16), (0.15, 0.15), path, view_position=view,
            synthetic=False, series_number=number, study=study,
            patient={"PatientName": f"ROE^JANE{seed}", "PatientID": f"MRN{seed:05d}"},
            extra={"Manufacturer": "ACME", "InstitutionName": "General Hospital"},
        )
        ds = pydicom.dcmread(path)
        ds.SOPClassUID = CR_IMAGE_STORAGE
        ds.file_meta.MediaStorageSOPClassUID = CR_IMAGE_STORAGE
        ds.Modality = "CR"
        ds.PhotometricInterpretation = "MONOCHROME1"
        ds.BitsStored, ds.HighBit = 16, 15
        pixels = ds.pixel_array
        ds.PixelData = (65535 - pixels).astype("<u2").tobytes()
        ds.private_block(0x0019, "ACME CR", create=True).add_new(0x10, "LO", "plate=35x43")
        ds.save_as(path)
    return folder


def write_synthetic_cxr(folder: Path, seed: int, *, views=("PA",), shape=(64, 64)) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    study = {"StudyInstanceUID": generate_uid()}
    for number, view in enumerate(views, start=1):
        write_dx_image(_radiograph(shape, rng, 0.005), (0.5, 0.5), folder / f"{view}.dcm", view_position=view,
                       synthetic=True, series_number=number, study=study)
    return folder


REPORTS = [
    ("Heart size is normal. No focal consolidation. No pleural effusion.", "No acute cardiopulmonary process."),
    ("- Small left pleural effusion\n- Left basal atelectasis", "1. small left effusion."),
    ("MODERATE CARDIOMEGALY. PULMONARY VASCULAR CONGESTION.", "FINDINGS CONSISTENT WITH MILD CHF."),
    ("Right upper lobe opacity concerning for pneumonia.", "Right upper lobe pneumonia."),
    ("Stable postoperative changes. Sternotomy wires intact.", "No acute process."),
    ("Hyperinflated lungs with flattened diaphragms.", "Emphysema, COPD."),
    ("Nodule 8 mm in the right lower lobe.", "Indeterminate pulmonary nodule; follow-up CT recommended."),
    ("Bilateral interstitial opacities.", "Pattern suggests pulmonary edema."),
    ("Left apical pneumothorax, approximately 1.5 cm.", "Small left pneumothorax."),
    ("Mediastinal widening.", "Consider CT angiography."),
    ("Clear lungs.", "Normal chest."),
    ("Elevated right hemidiaphragm.", "No acute findings."),
]


def import_real(tmp: Path, kind: str, seed: int, owner=None):
    """Import one real case (kind 'ct' or 'cxr') with a report; returns the dicom Study."""
    from webapp.dicom.services import study_import

    findings, impression = REPORTS[seed % len(REPORTS)]
    folder = tmp / f"real-{kind}-{seed}"
    if kind == "ct":
        write_real_ct(folder, seed)
    else:
        write_real_cxr(folder, seed)
    return study_import(paths_or_zip=folder, owner=owner, report={"findings": findings, "impression": impression})


def import_generated(tmp: Path, kind: str, seed: int, owner, *, preset="demo-phantom", views=("PA",), report_seed=None):
    """Import a synthetic case as a generation job's output (so the generator name comes from the job)."""
    from webapp.dicom.services import study_import
    from webapp.jobs.models import GenerationJob, GenerationOutput

    findings, impression = REPORTS[(seed if report_seed is None else report_seed) % len(REPORTS)]
    folder = tmp / f"gen-{kind}-{seed}-{preset}"
    if kind == "ct":
        write_synthetic_ct(folder, seed)
    else:
        write_synthetic_cxr(folder, seed, views=views)
    study = study_import(paths_or_zip=folder, owner=owner, source="generated", report={"findings": findings, "impression": impression})
    job = GenerationJob.objects.create(
        owner=owner, modality="ct" if kind == "ct" else "cxr-frontal", findings=findings, impression=impression,
        preset=preset, seed=seed, guidance_scale=3.0, num_inference_steps=4, status="succeeded", model_version=f"{preset}-v1",
    )
    GenerationOutput.objects.create(job=job, index=0, seed=seed, study=study)
    return study
