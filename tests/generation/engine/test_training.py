"""Tiny training runs: finite loss, checkpoints, resume from the right step, early data errors."""

from __future__ import annotations

import json

import pytest
from safetensors import safe_open

from generation.training import autoencoder as ae_cmd
from generation.training import ldm as ldm_cmd
from generation.training.data import DatasetError, read_cases

from .conftest import write_nifti_dataset


def _log_steps(out):
    return [json.loads(line)["step"] for line in (out / "loss_log.jsonl").read_text().splitlines()]


def test_autoencoder_then_ldm_train_checkpoint_and_resume(tmp_path, tiny_preset_path, capsys):
    data = write_nifti_dataset(tmp_path / "data", n_cases=3)
    common = [
        "--data",
        str(data),
        "--preset",
        str(tiny_preset_path),
        "--device",
        "cpu",
        "--log-every",
        "1",
    ]

    ae_out = tmp_path / "ae"
    assert ae_cmd.main([*common, "--out", str(ae_out)]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["step"] == 2 and summary["last_loss"] == summary["last_loss"]  # finite
    assert (ae_out / "autoencoder.safetensors").is_file()
    assert json.loads((ae_out / "config.json").read_text())["kind"] == "autoencoder"

    out = tmp_path / "ldm"
    ldm_args = [
        *common,
        "--out",
        str(out),
        "--autoencoder",
        str(ae_out / "autoencoder.safetensors"),
    ]
    assert ldm_cmd.main(ldm_args) == 0
    first = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert first["step"] == 2 and first["resumed_from"] == 0
    assert 0 < first["scale_factor"] < 1e6
    assert json.loads((out / "checkpoints" / "latest.json").read_text())["step"] == 2
    assert {p.suffix for p in (out / "checkpoints" / "step_00000002").iterdir()} == {
        ".safetensors",
        ".json",
    }
    with safe_open(str(out / "unet.safetensors"), framework="pt") as fh:
        assert float(fh.metadata()["scale_factor"]) == pytest.approx(first["scale_factor"])
    assert len(list((out / "cache").glob("*.safetensors"))) == 3
    assert _log_steps(out) == [1, 2]

    # Without --resume an existing run is protected.
    assert ldm_cmd.main(ldm_args) == 2
    assert "--resume" in capsys.readouterr().err

    assert ldm_cmd.main([*ldm_args, "--resume", "--max-steps", "3"]) == 0
    resumed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert resumed["resumed_from"] == 2 and resumed["step"] == 3
    assert resumed["scale_factor"] == first["scale_factor"]
    assert _log_steps(out) == [1, 2, 3]
    state = json.loads((out / "checkpoints" / "step_00000003" / "state.json").read_text())
    assert state["step"] == 3 and state["lr_scheduler"]["last_epoch"] == 3

    # Fine-tuning from those weights (--init-unet) keeps their latent scale factor and starts
    # from their values, not from a fresh initialisation.
    tuned = tmp_path / "tuned"
    init = out / "unet.safetensors"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ldm_cmd, "make_loss_fn", _recording_loss_fn(ldm_cmd.make_loss_fn, seen := {}))
        assert ldm_cmd.main([*common, "--out", str(tuned), "--autoencoder", str(ae_out / "autoencoder.safetensors"),
                             "--init-unet", str(init), "--max-steps", "1"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["scale_factor"] == pytest.approx(first["scale_factor"])
    assert seen["first_weights"] == pytest.approx(_first_tensor(init))
    assert json.loads((tuned / "config.json").read_text())["init_unet"] == str(init)
    assert ldm_cmd.main([*common, "--out", str(tmp_path / "x"), "--autoencoder", str(ae_out / "autoencoder.safetensors"),
                         "--init-unet", str(tmp_path / "nope.safetensors")]) == 2  # fmt: skip
    assert "nope.safetensors" in capsys.readouterr().err


def _first_tensor(path) -> list[float]:
    with safe_open(str(path), framework="pt") as fh:
        name = sorted(fh.keys())[0]
        return fh.get_tensor(name).flatten()[:8].tolist()


def _recording_loss_fn(make, seen: dict):
    """Wrap the LDM loss so the test sees the UNet's weights at the first step."""

    def factory(*args, **kwargs):
        loss_fn = make(*args, **kwargs)

        def recorded(net, batch):
            if "first_weights" not in seen:
                name = sorted(net.state_dict())[0]
                seen["first_weights"] = net.state_dict()[name].flatten()[:8].tolist()
            return loss_fn(net, batch)

        return recorded

    return factory


def test_bad_data_directories_fail_before_any_work(tmp_path, tiny_preset_path, capsys):
    args = ["--preset", str(tiny_preset_path), "--out", str(tmp_path / "out"), "--device", "cpu"]
    assert ae_cmd.main(["--data", str(tmp_path / "missing"), *args]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="cases.csv"):
        read_cases(empty)
    (empty / "cases.csv").write_text("case_id,text\n1,x\n")
    with pytest.raises(DatasetError, match="lacks column.*findings, impression"):
        read_cases(empty)
    (empty / "cases.csv").write_text("case_id,findings,impression\n")
    with pytest.raises(DatasetError, match="no cases"):
        read_cases(empty)
    (empty / "cases.csv").write_text("case_id,findings,impression\na,x,y\na,x,y\nb,,\n")
    with pytest.raises(
        DatasetError, match=r"3 problem\(s\).*a\.nii\.gz not found.*duplicate.*neither"
    ):
        read_cases(empty)


def test_ldm_needs_the_autoencoder_weights(tmp_path, tiny_preset_path, capsys):
    data = write_nifti_dataset(tmp_path / "data", n_cases=2)
    code = ldm_cmd.main(["--data", str(data), "--out", str(tmp_path / "o"), "--preset", str(tiny_preset_path),
                         "--weights-dir", str(tmp_path / "w")])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert (
        str(tmp_path / "w" / "tiny" / "autoencoder.safetensors") in err
        and "RADSYNTH_WEIGHTS_DIR" in err
    )


def test_report2ct_autoencoder_training_is_disabled(tmp_path, capsys):
    data = write_nifti_dataset(tmp_path / "data", n_cases=1)
    assert (
        ae_cmd.main(["--data", str(data), "--out", str(tmp_path / "o"), "--preset", "report2ct"])
        == 2
    )
    assert "pretrained autoencoder" in capsys.readouterr().err


def test_extra_data_sets_are_appended_with_prefixed_case_ids(tmp_path):
    from generation.training.data import read_training_cases

    main = write_nifti_dataset(tmp_path / "main", n_cases=2)
    extra = write_nifti_dataset(tmp_path / "enriched", n_cases=2)
    cases = read_training_cases(main, [extra])
    ids = [c.case_id for c in cases]
    assert len(ids) == len(set(ids)) == 4
    assert ids[2:] == [f"enriched/{c.case_id}" for c in read_cases(extra)]
    assert cases[2].ct_path.parent.parent == extra
    with pytest.raises(DatasetError, match="does not exist"):
        read_training_cases(main, [tmp_path / "nope"])


def test_ship_gives_a_checkpoint_its_runs_scale_factor_and_halves_it(tmp_path):
    import torch
    from safetensors.torch import save_file

    from generation.training.ship import ship
    from generation.weights_io import read_metadata

    step = tmp_path / "checkpoints" / "step_00001000"
    step.mkdir(parents=True)
    save_file({"w": torch.ones(3)}, str(step / "unet.safetensors"))
    (step / "state.json").write_text(json.dumps({"step": 1000, "extra": {"scale_factor": 0.9857}}))
    result = ship(step / "unet.safetensors", tmp_path / "out.safetensors", half=True)
    meta = read_metadata(tmp_path / "out.safetensors")
    assert meta["scale_factor"] == "0.9857" and meta["step"] == "1000" and meta["stored_dtype"] == "float16"
    assert result["half"] is True
    with safe_open(str(tmp_path / "out.safetensors"), framework="pt") as fh:
        assert fh.get_tensor("w").dtype == torch.float16
