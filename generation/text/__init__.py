"""Report text conditioning: local Hugging Face encoders, pooling, multi-encoder concatenation."""

from generation.text.encoder import (
    TextEncoder,
    load_text_encoder,
    random_text_encoder,
    resolve_encoder_path,
)
from generation.text.multi import SECTIONS, MultiEncoder, encode_report
from generation.text.pooling import pool

__all__ = [
    "SECTIONS",
    "MultiEncoder",
    "TextEncoder",
    "encode_report",
    "load_text_encoder",
    "pool",
    "random_text_encoder",
    "resolve_encoder_path",
]
