"""Joint generation of two views with cross-modal latent alignment (MedCoDi-M §2.3).

Mechanism (the paper's, sized for a CPU): each view's LDM gets
1. an encoder V that projects the OTHER view's noisy latent z_t (and t) into the shared space
   (:class:`LatentProjector`), and
2. cross-attention to that projection: the projected vector is appended as a second token to
   the UNet's cross-attention context, so the UNet's cross-attention layers attend to
   [condition, partner] instead of [condition].
Only V and the cross-attention layers (attn2 + its norm) are trained, on the joint denoising loss
of both views at the same timestep, with the rest of both UNets frozen (eq. 3); an auxiliary
cosine loss ties V's output to the clean partner image's shared-space embedding so that V really
"projects into the shared space". Both chains then run in lock-step and each sees where the
other is going at every step, which is what makes the pair coherent.

The fine-tuned cross-attention weights are kept apart from the single-view UNets (joint.safetensors),
so single-output generation is exactly the model trained in stage 2.

Why not alignment guidance (gradient of the pair's cosine similarity through decoder + image
encoder at every step)? It needs no training, but costs a backward pass through the decoder and
encoder per step, and pushes both images toward whatever the encoder finds similar rather than
toward what the data says a matching pair looks like. The coupling is learned from real pairs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from generation.cxr.modalities import VIEWS

#: Parameter-name fragments of the cross-attention sub-layers that joint training fine-tunes.
_COUPLED_FRAGMENTS: tuple[str, ...] = (".attn2.", ".norm2.")


def coupling_parameter_names(unet: nn.Module) -> list[str]:
    """Names of the UNet's cross-attention parameters (attn2 and the LayerNorm before it)."""
    return [
        name
        for name, _ in unet.named_parameters()
        if "transformer_blocks" in name and any(f in name for f in _COUPLED_FRAGMENTS)
    ]


def timestep_features(t: torch.Tensor, dim: int, num_train_timesteps: int = 1000) -> torch.Tensor:
    """Sinusoidal features of t in [0, T] -> [B, dim]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device) / half)
    angles = (t.float().reshape(-1, 1) * (1000.0 / num_train_timesteps)) * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class LatentProjector(nn.Module):
    """V: noisy latent [B, C, h, w] at time t -> shared-space vector [B, D] (L2-normalised)."""

    def __init__(
        self, latent_channels: int = 4, dim: int = 128, channels: tuple[int, int] = (32, 64), grid: int = 4
    ) -> None:
        super().__init__()
        c1, c2 = channels
        self.time_dim = 64
        self.time = nn.Sequential(nn.Linear(self.time_dim, c1), nn.SiLU(), nn.Linear(c1, c1))
        self.stem = nn.Conv2d(latent_channels, c1, 3, padding=1)
        self.body = nn.Sequential(
            nn.SiLU(),
            nn.Conv2d(c1, c2, 3, stride=2, padding=1),
            nn.GroupNorm(8, c2),
            nn.SiLU(),
            nn.Conv2d(c2, c2, 3, padding=1),
            nn.GroupNorm(8, c2),
            nn.SiLU(),
        )
        self.grid = grid
        self.out = nn.Linear(c2 * grid * grid, dim)

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        t = timestep_features(timesteps.reshape(-1).expand(latents.shape[0]), self.time_dim)
        h = self.stem(latents) + self.time(t)[:, :, None, None]
        h = F.adaptive_avg_pool2d(self.body(h), self.grid)
        return F.normalize(self.out(h.flatten(1)), dim=-1)


class JointModel(nn.Module):
    """Both view UNets plus the coupling; only the coupling parameters are trainable."""

    def __init__(self, unets: Mapping[str, nn.Module], latent_channels: int, dim: int) -> None:
        super().__init__()
        self.unets = nn.ModuleDict({v: unets[v] for v in VIEWS})
        self.projectors = nn.ModuleDict({v: LatentProjector(latent_channels, dim) for v in VIEWS})
        self.coupled = {v: coupling_parameter_names(self.unets[v]) for v in VIEWS}
        for view, unet in self.unets.items():
            names = set(self.coupled[view])
            for name, param in unet.named_parameters():
                param.requires_grad_(name in names)

    @staticmethod
    def partner(view: str) -> str:
        return VIEWS[1 - VIEWS.index(view)]

    def context(
        self, view: str, condition_context: torch.Tensor, latents: Mapping[str, torch.Tensor],
        timesteps: torch.Tensor, scale: float,
    ) -> torch.Tensor:  # fmt: skip
        """[B, 2, D]: the condition token and the projection of the partner view's latent."""
        other = self.projectors[self.partner(view)](latents[self.partner(view)], timesteps)
        return torch.cat([condition_context, (other * scale).unsqueeze(1)], dim=1)

    def coupling_state(self) -> dict[str, torch.Tensor]:
        """What joint.safetensors stores: the projectors and the fine-tuned cross-attention."""
        state = {f"projectors.{k}": v for k, v in self.projectors.state_dict().items()}
        for view, unet in self.unets.items():
            params = dict(unet.named_parameters())
            for name in self.coupled[view]:
                state[f"unet_{view}.{name}"] = params[name].detach()
        return state

    def load_coupling_state(self, state: Mapping[str, torch.Tensor]) -> None:
        """Inverse of :meth:`coupling_state` (strict: every key present, none unknown)."""
        proj = {k[len("projectors.") :]: v for k, v in state.items() if k.startswith("projectors.")}
        self.projectors.load_state_dict(proj, strict=True)
        for view, unet in self.unets.items():
            prefix = f"unet_{view}."
            part = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            expected = set(self.coupled[view])
            if set(part) != expected:
                missing = sorted(expected - set(part))[:3]
                unexpected = sorted(set(part) - expected)[:3]
                raise KeyError(f"joint weights for {view}: missing {missing}, unexpected {unexpected}")
            params = dict(unet.named_parameters())
            with torch.no_grad():
                for name, value in part.items():
                    params[name].copy_(value)
        unknown = [k for k in state if not k.startswith(("projectors.", "unet_frontal.", "unet_lateral."))]
        if unknown:
            raise KeyError(f"unexpected joint weights {unknown[:3]}")


def build_joint_model(
    unets: Mapping[str, nn.Module], latent_channels: int, dim: int, copy_unets: bool = True
) -> JointModel:
    """A JointModel over copies of the single-view UNets (so these stay untouched)."""
    parts = {v: copy.deepcopy(unets[v]) if copy_unets else unets[v] for v in VIEWS}
    return JointModel(parts, latent_channels, dim)


def coherence(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """MedCoDi-M eq. 5: cosine similarity of two outputs' shared-space embeddings, per sample."""
    return F.cosine_similarity(a.float(), b.float(), dim=-1)
