"""Stage 2c: the report decoder, conditioned on the views' shared-space embeddings.

    python -m generation.cxr.training report --data DIR --out RUN [--resume]

The vocabulary is built from the training reports. Each step draws a non-empty subset of
{frontal, lateral} per sample (multi-prompt, as for the image LDMs), averages those embeddings
into the condition and trains next-word prediction with teacher forcing. Writes
RUN/report_decoder.safetensors with the vocabulary in its metadata.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

from generation.cxr.conditioning import PROMPT_SAMPLING_MODES, combine, sample_prompt_masks
from generation.cxr.loading import build_report_decoder, cxr_config
from generation.cxr.modalities import PROMPTS_FOR, REPORT
from generation.cxr.report_decoder import ReportDecoder, Vocabulary, pad_batch, sequence_loss
from generation.cxr.training.common import (
    StageTimer,
    embedding_cache,
    export_fp16,
    loop_settings,
    open_run,
    random_batches,
    setup_device,
    stage_dir,
    stage_parser,
    stage_settings,
    summary_line,
)
from generation.training.common import run_main
from generation.training.loop import Trainer

KIND = "report"


def build_parser() -> argparse.ArgumentParser:
    parser = stage_parser("python -m generation.cxr.training report", __doc__.splitlines()[0])
    parser.add_argument("--prompt-sampling", choices=PROMPT_SAMPLING_MODES, default=None)
    return parser


def train(args: argparse.Namespace) -> dict:
    run = open_run(args)
    settings = stage_settings(run, KIND)
    mode = args.prompt_sampling or run.preset.section("conditioning").get("prompt_sampling", "multi")
    config = cxr_config(run.preset)
    timer = StageTimer()
    train_cases = [run.cases[i] for i in run.train_index.tolist()]
    vocab = Vocabulary.build([f"{c.findings} {c.impression}" for c in train_cases])
    folder = stage_dir(run, KIND, KIND, {"settings": settings, "vocabulary_size": len(vocab), "prompt_sampling": mode})
    info = setup_device(args)
    embeds = embedding_cache(run, info.device)
    prompts = torch.stack([embeds[m] for m in PROMPTS_FOR[REPORT]], dim=1)
    tokens = pad_batch(
        [vocab.encode_report(c.findings, c.impression, config.max_report_tokens) for c in run.cases], vocab.pad_id
    )
    decoder: ReportDecoder = build_report_decoder(run.preset, vocab)
    trainer = Trainer(decoder, "report_decoder", folder, info, loop_settings(settings, args))
    start = trainer.maybe_resume()
    train_index = run.train_index

    def fetch(pos: torch.Tensor) -> dict[str, torch.Tensor]:
        idx = train_index[pos]
        return {"prompts": prompts[idx], "tokens": tokens[idx]}

    def loss_fn(net: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        p = batch["prompts"]
        mask = sample_prompt_masks(p.shape[0], p.shape[1], mode).to(p.device)
        cond = combine(p, mask) * config.context_scale
        seq = batch["tokens"]
        length = int((seq != vocab.pad_id).sum(dim=1).max())  # trim the batch's common padding
        seq = seq[:, :length]
        return sequence_loss(net(cond, seq), seq, vocab.pad_id)

    result = trainer.fit(random_batches(len(train_index), int(settings["batch_size"]), fetch), loss_fn)
    path = export_fp16(
        decoder.state_dict(), run.weights_path("report_decoder"), run, "report_decoder",
        {"step": trainer.step, "vocabulary": vocab.to_json(), "prompt_sampling": mode},
    )  # fmt: skip
    return summary_line(
        run, KIND, result, resumed_from=start, weights=str(path), seconds=timer.seconds(), cpu_seconds=timer.cpu_seconds(), vocabulary_size=len(vocab)
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, build_parser(), train)


if __name__ == "__main__":
    raise SystemExit(main())
