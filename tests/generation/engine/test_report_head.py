"""A preset's own report head: fact targets, the training command, loading into the pipeline."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch
from safetensors import safe_open

from generation.errors import MissingWeights
from generation.phantom import make_case
from generation.phantom.facts import FACT_NAMES, report_facts
from generation.phantom.labeler import label_report
from generation.training import report_head as head_cmd

from .conftest import tiny_preset_data, write_nifti_dataset

HEAD = {"file": "report_head.safetensors", "dim": 8, "text_width": 16, "text_layers": 1, "text_heads": 2}


def _facts(parameters: dict) -> set[str]:
    return {FACT_NAMES[i] for i in np.flatnonzero(report_facts(parameters))}


def test_facts_come_from_the_parameters_with_sides_grades_and_lobes():
    bilateral = {"labels": {"pleural_effusion": 1}, "findings": [{"finding": "pleural_effusion", "side": "bilateral", "size": "large"}]}
    assert _facts(bilateral) == {
        "pleural_effusion", "pleural_effusion:right", "pleural_effusion:left",
        "pleural_effusion:moderate", "pleural_effusion:large",
    }  # fmt: skip
    small_ptx = {"labels": {"pneumothorax": 1}, "findings": [{"finding": "pneumothorax", "side": "left", "size": "small"}]}
    assert _facts(small_ptx) == {"pneumothorax", "pneumothorax:left"}
    mass = {"labels": {"lung_mass": 1}, "findings": [{"finding": "mass", "lobe": "LLL", "diameter_mm": 41.0}]}
    assert _facts(mass) == {"lung_mass", "lung_mass:LLL"}
    assert _facts({"labels": {}, "findings": []}) == set()
    with pytest.raises(ValueError, match="unknown finding label 'tumour'"):
        report_facts({"labels": {"tumour": 1}})


def test_the_facts_of_a_phantom_case_match_its_label_vector():
    case = make_case(5, "pleural_effusion:side=right:size=large,nodule:lobe=LUL", (24, 32, 32), (13.0, 11.0, 11.0), drr=False)
    facts = report_facts(json.dumps(case.parameters))
    assert facts[: len(case.labels)].tolist() == case.labels.astype(float).tolist()
    assert {"pleural_effusion:right", "pleural_effusion:large", "lung_nodule:LUL"} <= _facts(case.parameters)
    assert "pleural_effusion:left" not in _facts(case.parameters)


def test_a_short_report_keeps_every_sentence_that_states_a_finding():
    case = make_case(3, "pleural_effusion:side=right:size=large,consolidation:lobe=RLL", (24, 32, 32), (13.0, 11.0, 11.0), drr=False)
    full = case.report.findings
    for seed in range(5):
        short = head_cmd.short_report(full, random.Random(seed))
        assert len(short) < len(full) / 2
        assert label_report(short) == label_report(full)
        assert "right" in short.lower()


def test_normal_statements_state_nothing_and_are_taught_as_an_all_zero_target():
    case = make_case(3, "pleural_effusion:side=right:size=large", (24, 32, 32), (13.0, 11.0, 11.0), drr=False)
    full = case.report.findings
    fact_case = head_cmd.FactCase("c", full, case.report.impression, report_facts(case.parameters))
    for seed in range(5):
        text = head_cmd.normal_statements(full, random.Random(seed))
        assert text and not any(label_report(text).values())
    taught = head_cmd.section_texts(fact_case, random.Random(0))
    assert taught[0][0] == full and taught[0][1] is fact_case.facts
    assert taught[-1][1].sum() == 0 and fact_case.facts.sum() > 0


@pytest.fixture
def head_preset(tmp_path, bert_dirs):
    data = tiny_preset_data(bert_dirs, name="tinyhead")
    data["conditioning"]["report_space"] = dict(HEAD, encoder="Wide")
    path = tmp_path / "tinyhead.json"
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def phantom_data(tmp_path_factory):
    from generation.phantom import write_dataset

    out = tmp_path_factory.mktemp("phantoms") / "data"
    write_dataset(out, 20, seed=11, shape=(24, 32, 32), spacing=(13.0, 11.0, 11.0), drr=False, progress=False)
    return out


def test_report_head_trains_on_phantom_reports_and_conditions_the_pipeline(tmp_path, head_preset, phantom_data, capsys):
    from generation.pipelines.loading import build_pipeline
    from generation.registry import load_preset

    out = tmp_path / "weights" / "tinyhead" / "report_head.safetensors"
    argv = ["--data", str(phantom_data), "--preset", str(head_preset), "--out", str(out), "--steps", "60", "--batch-size", "16"]
    assert head_cmd.main(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["held_out_cases"] == 2 and summary["train_cases"] == 18
    assert summary["loss_last"] < summary["loss_first"]
    with safe_open(str(out), framework="pt") as fh:
        meta = fh.metadata()
    assert json.loads(meta["facts"]) == list(FACT_NAMES)
    assert "macro_accuracy" in json.loads(meta["metrics"])

    preset = load_preset(head_preset)
    assert [f.role for f in preset.expected_files(tmp_path / "weights")][-1] == "report head"
    pipeline = build_pipeline(preset, tmp_path / "weights", device="cpu", allow_untrained=True).pipeline
    encoder = pipeline.text_encoder
    context, _ = encoder.encode_report(["Large right pleural effusion."], ["Effusion, right."])
    assert context.shape == (1, 4, encoder.dim)
    # the head's unit vector times sqrt(dim), in the first `dim` channels, zeros after
    token = context[0, 2]
    assert torch.allclose(token[:8].norm(), torch.tensor(8**0.5), atol=1e-4)
    assert torch.count_nonzero(token[8:]) == 0


def test_a_missing_report_head_is_named(tmp_path, head_preset):
    from generation.pipelines.loading import load_text_encoders
    from generation.registry import load_preset

    preset = load_preset(head_preset)
    with pytest.raises(MissingWeights, match="report head"):
        load_text_encoders(preset, tmp_path / "nowhere" / "tinyhead")


def test_report_head_refuses_data_without_parameters_before_loading_anything(tmp_path, head_preset, capsys):
    plain = write_nifti_dataset(tmp_path / "plain", n_cases=2)
    out = str(tmp_path / "head.safetensors")
    assert head_cmd.main(["--data", str(plain), "--preset", str(head_preset), "--out", out]) == 2
    assert "lacks column(s) parameters" in capsys.readouterr().err
    assert head_cmd.main(["--data", str(tmp_path / "missing"), "--preset", str(head_preset), "--out", out]) == 2
    assert "cases.csv not found" in capsys.readouterr().err
    assert head_cmd.main(["--data", str(plain), "--preset", str(head_preset), "--out", str(tmp_path / "h.pt")]) == 2
    assert ".safetensors" in capsys.readouterr().err
