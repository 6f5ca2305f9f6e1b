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
from webapp.jobs.outputs import write_sample_files


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
        parser.add_argument("--out", required=True, help="output folder (created)")

    def handle(self, *args, **opts):
        request = GenerationRequest(
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
        for index, sample in enumerate(result.samples):
            files = write_sample_files(
                sample, out / f"sample-{index}", description=f"RadSynth {result.preset} seed {sample.seed}",
                provenance={"preset": result.preset, "model_version": result.model_version, "seed": sample.seed,
                            "guidance_scale": result.guidance_scale, "steps": result.num_inference_steps},
            )
            samples.append({
                "seed": sample.seed,
                "dicom_dir": str(files["dicom_dir"]),
                "dicom_files": [str(p) for p in files["series"].paths],
                "study_instance_uid": files["series"].study_uid,
                "series_instance_uid": files["series"].series_uid,
                "nifti": str(files["nifti"]),
                "thumbnails": {k: str(v) for k, v in files["thumbnails"].items()},
            })
        summary = result.to_dict()
        payload = {
            "out": str(out),
            "paths": [s["dicom_dir"] for s in samples],
            "seed": result.samples[0].seed,
            "model_version": result.model_version,
            "preset": result.preset,
            "weights_sha256": result.weights_sha256,
            "timings": summary["timings"],
            "warnings": summary["warnings"],
            "samples": samples,
        }
        self.stdout.write(json.dumps(payload, indent=None))
