"""CXR pipeline: any of {report, frontal, lateral} -> any other of them (diffusers-style).

Injected parts (:class:`CXRParts`): the frozen text backbone, the shared space (image encoder +
text head), the autoencoder, one UNet per view, the RFlow scheduler, the report decoder and the
joint-coupling model. ``__call__`` runs numbered steps; the batched building blocks are public so
training code and benchmarks use exactly the same maths.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from monai.networks.schedulers import RFlowScheduler
from torch import nn

from generation.cxr.conditioning import combine_named, to_context
from generation.cxr.encoders import SharedSpace, TextBackbone, report_text
from generation.cxr.joint import JointModel, coherence
from generation.cxr.modalities import MODALITIES, PROMPTS_FOR, REPORT, VIEWS
from generation.cxr.preprocess import normalise_input_array, to_model_input
from generation.cxr.report_decoder import BOS, EOS, ReportDecoder, Vocabulary
from generation.errors import Cancelled, InvalidRequest
from generation.request import GUIDANCE_RANGE, STEPS_RANGE
from generation.sampling import euler_step, guided_velocity, inference_timesteps

StepCallback = Callable[[int, int], None]


@dataclass
class CXRConfig:
    """Grid and conditioning settings of a CXR preset."""

    image_size: int
    latent_channels: int
    latent_size: int
    pixel_spacing_mm: tuple[float, float]
    context_scale: float
    scale_factors: dict[str, float] = field(default_factory=lambda: {v: 1.0 for v in VIEWS})
    target_spacing_mm: float | None = None
    max_report_tokens: int = 96


@dataclass
class CXRParts:
    text_backbone: TextBackbone
    shared: SharedSpace
    autoencoder: nn.Module
    unets: dict[str, nn.Module]
    scheduler: RFlowScheduler
    report_decoder: ReportDecoder | None = None
    vocabulary: Vocabulary | None = None
    joint: JointModel | None = None


@dataclass
class CXROutput:
    """``images``: view -> float32 [H, W] in [0, 1] (bright = dense, radiological display);
    ``report``: {"findings", "impression"} or None; ``coherence``: "a|b" -> cosine similarity of
    two outputs in the shared space (MedCoDi-M eq. 5); ``inputs``: the modalities that prompted."""

    images: dict[str, np.ndarray]
    report: dict[str, str] | None
    coherence: dict[str, float]
    inputs: list[str]
    joint: bool
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class BatchResult:
    """``images``: view -> [B, 1, S, S] in [0, 1]; ``embeddings``: output -> [B, D] shared-space
    vectors of the generated outputs; ``joint``: whether any coupling was used."""

    images: dict[str, torch.Tensor]
    reports: list[dict[str, str]] | None
    embeddings: dict[str, torch.Tensor]
    joint: bool


class CXRPipeline:
    def __init__(self, parts: CXRParts, config: CXRConfig) -> None:
        self.parts = parts
        self.config = config
        for module in self._modules():
            module.eval()

    def _modules(self) -> list[nn.Module]:
        p = self.parts
        mods: list[nn.Module] = [p.text_backbone, p.shared, p.autoencoder, *p.unets.values()]
        mods += [m for m in (p.report_decoder, p.joint) if m is not None]
        return mods

    @property
    def device(self) -> torch.device:
        return next(self.parts.shared.parameters()).device

    # ------------------------------------------------------------------ the numbered steps
    @torch.inference_mode()
    def __call__(
        self,
        findings: str = "",
        impression: str = "",
        *,
        images: Mapping[str, np.ndarray] | None = None,
        pixel_spacing_mm: Mapping[str, Sequence[float]] | None = None,
        outputs: Sequence[str] = ("frontal",),
        seed: int = 0,
        guidance_scale: float = 3.0,
        num_inference_steps: int = 30,
        joint: bool = True,
        prompt_weights: Mapping[str, float] | None = None,
        on_step: StepCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> CXROutput:
        timings: dict[str, float] = {}
        warnings: list[str] = []
        # 1. Check inputs: which modalities prompt, which are generated.
        text = report_text(findings, impression)
        given_images = dict(images or {})
        inputs = self.check_inputs(text, given_images, outputs, guidance_scale, num_inference_steps)
        # 2. Encode every prompt into the shared space.
        tic = time.perf_counter()
        tensors = {
            v: self.prepare_image(arr, v, (pixel_spacing_mm or {}).get(v)) for v, arr in given_images.items()
        }
        if text:
            warnings.extend(self.parts.text_backbone.truncation_warnings([text]))
        embeds = self.encode_inputs([text] if text else None, tensors)
        timings["encoding"] = time.perf_counter() - tic
        # 3-7. Combine prompts, draw noise, denoise, decode, draft the report.
        if self.parts.joint is None and joint and sum(v in outputs for v in VIEWS) == 2:
            warnings.append("joint-coupling weights not loaded: the two views were generated independently")
        result = self.run_batch(
            embeds, outputs, [seed], guidance_scale, num_inference_steps, joint, prompt_weights,
            on_step, should_cancel, timings,
        )  # fmt: skip
        # 8. Post-process: arrays in [0, 1], and the pair coherence in the shared space.
        tic = time.perf_counter()
        arrays = {v: x[0, 0].float().cpu().numpy() for v, x in result.images.items()}
        names = [m for m in MODALITIES if m in result.embeddings]
        pairs = {
            f"{a}|{b}": float(coherence(result.embeddings[a], result.embeddings[b])[0])
            for i, a in enumerate(names) for b in names[i + 1 :]
        }  # fmt: skip
        timings["postprocess"] = time.perf_counter() - tic
        report = result.reports[0] if result.reports else None
        return CXROutput(arrays, report, pairs, inputs, result.joint, warnings, timings)

    def run_batch(
        self,
        embeds: Mapping[str, torch.Tensor],
        outputs: Sequence[str],
        seeds: Sequence[int],
        guidance_scale: float,
        num_inference_steps: int,
        joint: bool = True,
        prompt_weights: Mapping[str, float] | None = None,
        on_step: StepCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
        timings: dict[str, float] | None = None,
    ) -> BatchResult:
        """Steps 3-7 for a batch: prompts' embeddings {modality: [B, D]} -> outputs.

        ``joint``: both views are denoised with the latent coupling, and a requested report is
        also conditioned on the images being generated; otherwise every output is generated
        independently from the prompts alone (the multi-step baseline of Table 6).
        """
        timings = timings if timings is not None else {}
        views = [v for v in VIEWS if v in outputs]
        # 3. Multi-prompt combination: one condition per output.
        conditions = {v: self.condition_for(v, embeds, prompt_weights) for v in views}
        # 4. Initial noise from the seeds (the same noise per view whatever else is requested).
        latents = {v: z for v, z in self.prepare_latents(seeds).items() if v in views}
        # 5. Denoise: jointly (coupled) when both views are requested, else one chain per view.
        tic = time.perf_counter()
        coupled = joint and len(views) == 2 and self.parts.joint is not None
        total = num_inference_steps if views else 1
        if views:
            contexts = {v: to_context(c, self.config.context_scale) for v, c in conditions.items()}
            latents = self.denoise(
                latents, contexts, guidance_scale, num_inference_steps, coupled, on_step, should_cancel
            )
        timings["sampling"] = timings.get("sampling", 0.0) + time.perf_counter() - tic
        # 6. Decode the latents to images.
        tic = time.perf_counter()
        images = self.decode(latents)
        timings["decoding"] = timings.get("decoding", 0.0) + time.perf_counter() - tic
        # 7. Draft the report, conditioned on the image prompts (and, jointly, on the new images).
        tic = time.perf_counter()
        out_embeds = {v: self.parts.shared.encode_image(x) for v, x in images.items()}
        reports = None
        if REPORT in outputs:
            if should_cancel is not None and should_cancel():
                raise Cancelled("Cancelled before drafting the report.")
            prompts = {k: e for k, e in embeds.items() if k in PROMPTS_FOR[REPORT]}
            if joint:
                prompts.update({v: e for v, e in out_embeds.items() if v not in prompts})
                coupled = coupled or bool(views)
            reports = self.draft_reports(combine_named(prompts, prompt_weights))
            out_embeds[REPORT] = self.encode_texts(
                [report_text(r["findings"], r["impression"]) for r in reports]
            )
            if not views and on_step is not None:
                on_step(1, total)
        timings["report"] = timings.get("report", 0.0) + time.perf_counter() - tic
        return BatchResult(images, reports, out_embeds, coupled)

    # ------------------------------------------------------------------ building blocks
    def check_inputs(
        self,
        text: str,
        images: Mapping[str, np.ndarray],
        outputs: Sequence[str],
        guidance_scale: float,
        num_inference_steps: int,
    ) -> list[str]:
        """Validate the flow; returns the prompting modalities."""
        unknown = [o for o in outputs if o not in MODALITIES]
        if not outputs or unknown:
            raise InvalidRequest(f"outputs must be a non-empty subset of {MODALITIES}, got {list(outputs)}.")
        bad_views = [v for v in images if v not in VIEWS]
        if bad_views:
            raise InvalidRequest(f"input images must be keyed by {VIEWS}, got {bad_views}.")
        inputs = [m for m in MODALITIES if (m == REPORT and text) or m in images]
        clash = [o for o in outputs if o in inputs]
        if clash:
            raise InvalidRequest(f"{', '.join(clash)} cannot be both a prompt and an output.")
        for out in outputs:
            if not any(m in inputs for m in PROMPTS_FOR[out]):
                raise InvalidRequest(
                    f"generating the {out} needs at least one of {', '.join(PROMPTS_FOR[out])} as a prompt."
                )
        if REPORT in outputs and self.parts.report_decoder is None:
            raise InvalidRequest("this preset has no report decoder.")
        lo, hi = GUIDANCE_RANGE
        if not lo <= guidance_scale <= hi:
            raise InvalidRequest(f"guidance_scale must be between {lo:g} and {hi:g}, got {guidance_scale}.")
        lo, hi = STEPS_RANGE
        if not lo <= num_inference_steps <= hi:
            raise InvalidRequest(f"num_inference_steps must be between {lo} and {hi}, got {num_inference_steps}.")
        return inputs

    def prepare_image(self, array: np.ndarray, view: str, spacing: Sequence[float] | None) -> torch.Tensor:
        """Any-size [0, 1] radiograph -> [1, 1, S, S] model input (square padding, resize)."""
        pixels = normalise_input_array(array, view)
        target = self.config.target_spacing_mm if spacing is not None else None
        model_input = to_model_input(pixels, self.config.image_size, spacing, target)
        return torch.from_numpy(model_input)[None, None].to(self.device)

    def encode_texts(self, texts: list[str]) -> torch.Tensor:
        states, mask = self.parts.text_backbone.states(texts)
        return self.parts.shared.encode_text_states(states.to(self.device), mask.to(self.device))

    def encode_inputs(
        self, texts: list[str] | None, images: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """{modality: [B, D]} shared-space embeddings of the prompts."""
        embeds = {v: self.parts.shared.encode_image(x.to(self.device)) for v, x in images.items()}
        if texts:
            embeds[REPORT] = self.encode_texts(texts)
        return embeds

    def condition_for(
        self, output: str, embeds: Mapping[str, torch.Tensor], weights: Mapping[str, float] | None = None
    ) -> torch.Tensor:
        """Eq. 1 at inference: the linear combination of the output's available prompts."""
        prompts = {m: embeds[m] for m in PROMPTS_FOR[output] if m in embeds}
        if not prompts:
            raise InvalidRequest(f"no prompt for {output}; give one of {PROMPTS_FOR[output]}.")
        return combine_named(prompts, weights)

    def prepare_latents(self, seeds: Sequence[int]) -> dict[str, torch.Tensor]:
        """Noise per view, drawn on the CPU from each seed in the fixed view order, so a seed gives
        the same starting point on every device and whether one or both views are requested."""
        c, s = self.config.latent_channels, self.config.latent_size
        per_view: dict[str, list[torch.Tensor]] = {v: [] for v in VIEWS}
        for seed in seeds:
            generator = torch.Generator(device="cpu").manual_seed(int(seed))
            for view in VIEWS:
                per_view[view].append(torch.randn((1, c, s, s), generator=generator))
        return {v: torch.cat(z).to(self.device) for v, z in per_view.items()}

    def denoise(
        self,
        latents: dict[str, torch.Tensor],
        contexts: Mapping[str, torch.Tensor],
        guidance_scale: float,
        num_inference_steps: int,
        joint: bool = False,
        on_step: StepCallback | None = None,
        should_cancel: Callable[[], bool] | None = None,
    ) -> dict[str, torch.Tensor]:
        """Euler integration of the guided velocity from noise (t = T) to data (t = 0).

        Independent: each view's UNet sees only its condition. Joint: both chains advance in
        lock-step and each UNet also cross-attends to the projection of the other's current latent.
        """
        views = list(latents)
        any_latent = latents[views[0]]
        steps = inference_timesteps(self.parts.scheduler, num_inference_steps, any_latent.shape[2:], self.device)
        total = len(steps)
        n_train = self.parts.scheduler.num_train_timesteps
        for i, (t, t_next) in enumerate(steps):
            if should_cancel is not None and should_cancel():
                raise Cancelled(f"Cancelled at diffusion step {i} of {total}.")
            timestep = torch.full((any_latent.shape[0],), t, dtype=torch.float32, device=self.device)
            velocities = {}
            for view in views:
                if joint:
                    assert self.parts.joint is not None
                    unet = self.parts.joint.unets[view]
                    ctx = self.parts.joint.context(view, contexts[view], latents, timestep, self.config.context_scale)
                else:
                    unet, ctx = self.parts.unets[view], contexts[view]
                velocities[view] = guided_velocity(unet, latents[view], timestep, ctx, None, guidance_scale)
            latents = {v: euler_step(latents[v], velocities[v].float(), t, t_next, n_train) for v in views}
            if on_step is not None:
                on_step(i + 1, total)
        return latents

    def decode(self, latents: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{view: [B, 1, S, S]} images in [0, 1] (clamped)."""
        out = {}
        for view, z in latents.items():
            image = self.parts.autoencoder.decode(z / self.config.scale_factors[view])
            out[view] = image.float().clamp(0.0, 1.0)
        return out

    def draft_reports(self, condition: torch.Tensor) -> list[dict[str, str]]:
        """Greedy decoding of one report per condition row."""
        decoder, vocab = self.parts.report_decoder, self.parts.vocabulary
        if decoder is None or vocab is None:
            raise InvalidRequest("this preset has no report decoder.")
        ids = decoder.greedy(
            condition * self.config.context_scale, vocab.stoi[BOS], vocab.stoi[EOS], self.config.max_report_tokens
        )
        reports = []
        for row in ids.tolist():
            findings, impression = vocab.decode_report(row)
            reports.append({"findings": findings, "impression": impression})
        return reports
