"""Per-stage timings and peak memory of report -> CT generation.

    .venv/bin/python benchmarks/bench_generation.py                 # demo on CPU + report2ct if CUDA
    .venv/bin/python benchmarks/bench_generation.py --preset demo --json out.json

demo: the whole path (text encoding, 30 RFlow steps with classifier-free guidance, decoding) on
this machine's CPU; goal <= 15 s for one sample. Uses the installed demo weights, or untrained
weights of the same architecture when none are installed (same cost; flagged in the output).
report2ct: the paper-size model (480x480x256, latent 4x120x120x64, 30 steps, CFG) with untrained
weights on CUDA; skipped with a message when no GPU is present.
Each preset runs twice: "cold" includes loading the models, "warm" is a cached worker's cost.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

_PROCESS_START = time.perf_counter()  # end-to-end figures include importing torch & co.

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

FINDINGS = (
    "Moderate right pleural effusion with adjacent compressive atelectasis of the right lower "
    "lobe. Spiculated 2.1 cm nodule in the left upper lobe. Heart size normal. No pericardial "
    "effusion. No mediastinal lymphadenopathy."
)
IMPRESSION = "Right pleural effusion. Suspicious left upper lobe nodule; recommend PET-CT."
DEMO_GOAL_S = 15.0


def run_preset(preset: str, steps: int, guidance: float, device: str | None) -> dict:
    import torch

    from generation import GenerationRequest, generate
    from generation.registry import describe_presets

    info = next(d for d in describe_presets() if d["name"] == preset)
    request = GenerationRequest(
        findings=FINDINGS, impression=IMPRESSION, seed=0, preset=preset,
        guidance_scale=guidance, num_inference_steps=steps,
    )  # fmt: skip
    runs = {}
    for label in ("cold", "warm"):
        if device and device.startswith("cuda"):
            torch.cuda.synchronize()
        result = generate(request, device=device, allow_untrained=not info["weights_present"])
        runs[label] = {
            "timings_s": result.timings,
            "process_wall_s": round(time.perf_counter() - _PROCESS_START, 2),
            "peak_memory_mb": round(result.peak_memory_bytes / 2**20, 1),
            "peak_memory_kind": result.peak_memory_kind,
        }
    return {
        "preset": preset,
        "device": result.device,
        "output_shape_zyx": list(result.samples[0].volume_hu.shape),
        "latent_shape": info["latent_shape"],
        "steps": steps,
        "guidance_scale": guidance,
        "weights": "installed" if info["weights_present"] else "untrained (same architecture)",
        "parameters": info["parameters"],
        "runs": runs,
    }


def _print(report: dict) -> None:
    print(f"\n== {report['preset']} on {report['device']} ({report['weights']})")
    shape = "x".join(map(str, report["output_shape_zyx"]))
    print(f"   output {shape} (z,y,x), latent {report['latent_shape']}, {report['steps']} steps, "
          f"CFG s={report['guidance_scale']}")  # fmt: skip
    for label, run in report["runs"].items():
        t = run["timings_s"]
        print(
            f"   {label:4s}: load {t['load']:.2f}s  text {t['text_encoding']:.2f}s  "
            f"sampling {t['sampling']:.2f}s  decoding {t['decoding']:.2f}s  total {t['total']:.2f}s  "
            f"peak {run['peak_memory_mb']:.0f} MiB ({run['peak_memory_kind']})"
        )
    cold = report["runs"]["cold"]["process_wall_s"]
    print(f"   cold run finished {cold:.2f}s after process start (imports + load + generation)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=("demo", "report2ct", "all"), default="all")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--guidance", type=float, default=5.0)
    parser.add_argument("--device", default=None, help="default: cuda if available, else cpu")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args(argv)

    import torch

    reports, skipped = [], []
    env = {
        "python": platform.python_version(), "torch": torch.__version__,
        "cpu_threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }  # fmt: skip
    if args.preset in ("demo", "all"):
        demo_device = args.device or "cpu"  # the demo's goal is about the CPU path
        report = run_preset("demo", args.steps, args.guidance, demo_device)
        report["goal_s"] = DEMO_GOAL_S
        report["meets_goal"] = report["runs"]["cold"]["process_wall_s"] <= DEMO_GOAL_S
        reports.append(report)
        _print(report)
        print(
            f"   goal <= {DEMO_GOAL_S:.0f} s end to end: {'met' if report['meets_goal'] else 'NOT met'}"
        )
    if args.preset in ("report2ct", "all"):
        device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if not device.startswith("cuda"):
            message = ("report2ct skipped: no CUDA device here (480x480x256 with 30 CFG steps needs "
                       "a GPU with ~40 GB; run this script on a GPU worker).")  # fmt: skip
            skipped.append(message)
            print(f"\n== {message}")
        else:
            report = run_preset("report2ct", args.steps, args.guidance, device)
            reports.append(report)
            _print(report)
    if args.json:
        Path(args.json).write_text(
            json.dumps({"env": env, "results": reports, "skipped": skipped}, indent=1)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
