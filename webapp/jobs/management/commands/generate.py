"""`manage.py generate`: run the engine in this process and write the DICOM result to a folder.

Prints one JSON object (paths, seed, model version, timings) on stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from generation import GenerationError, GenerationRequest, generate
from generation.request import DEFAULT_GUIDANCE, DEFAULT_STEPS, MODALITIES
from webapp.jobs.outputs import write_cxr_sample_files, write_sample_files


def read_input_radiographs(*, frontal: str | None, lateral: str | None) -> tuple[dict, dict]:
    """DICOM radiographs given on the command line → engine inputs (view → image, spacing)."""
    from generation.cxr.preprocess import read_dicom_cxr

    images, spacings = {}, {}
    for view, path in (("frontal", frontal), ("lateral", lateral)):
        if not path:
            continue
        if not Path(path).is_file():
            raise CommandError(f"--input-{view}: {path} is not a file")
        try:
            radiograph = read_dicom_cxr(path)
        except GenerationError as exc:
            raise CommandError(f"--input-{view}: {exc}") from None
        except Exception as exc:  # pydicom's errors for a non-DICOM file vary
            raise CommandError(f"--input-{view}: {path} is not a readable DICOM file ({exc})") from None
        images[view] = radiograph.pixels
        if radiograph.pixel_spacing_mm:
            spacings[view] = radiograph.pixel_spacing_mm
    return images, spacings


class Command(BaseCommand):
    help = "Generate a synthetic study from a report and write it (DICOM, NIfTI, PNG) to --out."

    def add_arguments(self, parser):
        parser.add_argument("--modality", choices=MODALITIES, default="ct")
        parser.add_argument("--findings", default="")
        parser.add_argument("--impression", default="")
        parser.add_argument("--indication", default="")
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--guidance", type=float, default=DEFAULT_GUIDANCE)
        parser.add_argument("--steps", type=int, default=DEFAULT_STEPS)
        parser.add_argument("--samples", type=int, default=1)
        parser.add_argument("--preset", default="demo")
        parser.add_argument("--weights-dir", default=None, help="overrides RADSYNTH_WEIGHTS_DIR")
        parser.add_argument("--device", default=None, help="cpu, cuda, cuda:1 … (default: best available)")
        parser.add_argument("--input-frontal", default=None, help="DICOM file: a frontal radiograph that prompts a CXR output")
        parser.add_argument("--input-lateral", default=None, help="DICOM file: a lateral radiograph that prompts a CXR output")
        parser.add_argument("--with-report", action="store_true", help="CXR: also draft a report (always on for cxr-report)")
        parser.add_argument("--out", required=True, help="output folder (created)")

    def handle(self, *args, **opts):
        images, spacings = read_input_radiographs(frontal=opts["input_frontal"], lateral=opts["input_lateral"])
        request = GenerationRequest(
            input_images=images or None, input_pixel_spacing_mm=spacings or None, with_report=opts["with_report"],
            findings=opts["findings"], impression=opts["impression"], indication=opts["indication"],
            modality=opts["modality"], seed=opts["seed"], guidance_scale=opts["guidance"],
            num_inference_steps=opts["steps"], preset=opts["preset"], num_samples=opts["samples"],
        )
        out = Path(opts["out"]).resolve()
        bar = tqdm(total=request.num_inference_steps * request.num_samples, desc="sampling", unit="step", file=sys.stderr)

        def on_step(step: int, total: int) -> None:
            bar.n = step  # the engine counts steps over all samples
            bar.refresh()

        try:
            result = generate(
                request, on_step=on_step,
                weights_dir=opts["weights_dir"] or settings.RADSYNTH_WEIGHTS_DIR or None, device=opts["device"],
            )
        except GenerationError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        samples = []
        writer = write_sample_files if result.modality == "ct" else write_cxr_sample_files
        for index, sample in enumerate(result.samples):
            files = writer(
                sample, out / f"sample-{index}", description=f"RadSynth {result.preset} seed {sample.seed}",
                provenance={"preset": result.preset, "model_version": result.model_version, "seed": sample.seed,
                            "guidance_scale": result.guidance_scale, "steps": result.num_inference_steps},
            )
            series = files["series"] if isinstance(files["series"], list) else [files["series"]]
            samples.append({
                "seed": sample.seed,
                "dicom_dir": str(files["dicom_dir"]) if files["dicom_dir"] else None,
                "dicom_files": [str(p) for s in series for p in s.paths],
                "study_instance_uid": series[0].study_uid if series else None,
                "series_instance_uids": [s.series_uid for s in series],
                "nifti": str(files["nifti"]) if files.get("nifti") else None,
                "thumbnails": {k: str(v) for k, v in files["thumbnails"].items()},
                "report": getattr(sample, "report", None),
                "coherence": getattr(sample, "coherence", None),
            })
        summary = result.to_dict()
        payload = {
            "out": str(out),
            "paths": [s["dicom_dir"] for s in samples if s["dicom_dir"]],
            "seed": result.samples[0].seed,
            "model_version": result.model_version,
            "preset": result.preset,
            "weights_sha256": result.weights_sha256,
            "timings": summary["timings"],
            "warnings": summary["warnings"],
            "samples": samples,
        }
        self.stdout.write(json.dumps(payload, indent=None))
