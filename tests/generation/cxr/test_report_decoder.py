"""Vocabulary, tokenisation and the conditional GRU report decoder."""

from __future__ import annotations

import torch

from generation.cxr.report_decoder import (
    ReportDecoder,
    Vocabulary,
    detokenize,
    pad_batch,
    sequence_loss,
    tokenize,
)

CORPUS = [
    ("PA and lateral views of the chest. Large left pleural effusion.", "Large left pleural effusion."),
    ("PA and lateral views of the chest. Heart size is normal. No pleural effusion or pneumothorax.",
     "No acute cardiopulmonary process."),
    ("Frontal and lateral radiographs of the chest. 1.5 cm nodule projecting over the right upper lobe.",
     "Right upper lobe nodule; CT recommended."),
]  # fmt: skip


def test_tokenize_and_detokenize_round_trip():
    text = "Heart size is normal. 1.5 cm nodule; CT recommended."
    tokens = tokenize(text)
    assert tokens[:4] == ["heart", "size", "is", "normal"] and "1.5" in tokens and ";" in tokens
    assert detokenize(tokens) == "Heart size is normal. 1.5 cm nodule; ct recommended."


def test_vocabulary_encode_decode_and_json():
    vocab = Vocabulary.build([f"{f} {i}" for f, i in CORPUS])
    ids = vocab.encode_report(*CORPUS[0], max_len=64)
    findings, impression = vocab.decode_report(ids)
    assert findings == "Pa and lateral views of the chest. Large left pleural effusion."
    assert impression == "Large left pleural effusion."
    assert Vocabulary.from_json(vocab.to_json()).itos == vocab.itos
    assert vocab.ids("zebra") == [vocab.stoi["<unk>"]]
    assert len(vocab.encode_report(*CORPUS[1], max_len=5)) == 5


def test_greedy_decoding_is_deterministic_and_learns_a_tiny_corpus():
    torch.manual_seed(0)
    vocab = Vocabulary.build([f"{f} {i}" for f, i in CORPUS])
    decoder = ReportDecoder(len(vocab), cond_dim=8, embed_dim=16, hidden=64)
    cond = torch.eye(8)[:3] * 3.0
    tokens = pad_batch([vocab.encode_report(f, i, 64) for f, i in CORPUS], vocab.pad_id)
    bos, eos = vocab.stoi["<bos>"], vocab.stoi["<eos>"]
    first = decoder.greedy(cond, bos, eos, 40)
    assert torch.equal(first, decoder.greedy(cond, bos, eos, 40))
    optimizer = torch.optim.Adam(decoder.parameters(), lr=0.01)
    for _ in range(150):
        loss = sequence_loss(decoder(cond, tokens), tokens, vocab.pad_id)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    decoded = [vocab.decode_report(row) for row in decoder.greedy(cond, bos, eos, 64).tolist()]
    assert decoded[0] == ("Pa and lateral views of the chest. Large left pleural effusion.", "Large left pleural effusion.")
    assert decoded[1][1] == "No acute cardiopulmonary process."
