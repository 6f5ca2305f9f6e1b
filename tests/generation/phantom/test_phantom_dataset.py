"""The data set writer and the command line."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from generation.phantom import FINDING_NAMES, PhantomError, main, make_case, write_dataset
from generation.phantom.dataset import case_seeds

SHAPE, SPACING = (24, 32, 32), (12.0, 11.0, 12.0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantom_ds")
    summary = write_dataset(out, 3, seed=9, shape=SHAPE, spacing=SPACING, progress=False)
    return out, summary


def test_files_and_tables(dataset):
    out, summary = dataset
    assert summary["n"] == 3
    rows = list(csv.DictReader(open(out / "cases.csv", encoding="utf-8")))
    assert [r["case_id"] for r in rows] == ["phantom_00000", "phantom_00001", "phantom_00002"]
    for r in rows:
        assert r["findings"] and r["impression"] and r["cxr_findings"]
        assert all(r[k] in ("0", "1") for k in FINDING_NAMES)
        assert all(r[f"cxr_label_{k}"] in ("0", "1") for k in FINDING_NAMES)
        params = json.loads(r["parameters"])
        assert params["labels"] == {k: int(r[k]) for k in FINDING_NAMES}
        assert (out / r["ct_path"]).is_file()
        for key in ("frontal_path", "lateral_path"):
            img = Image.open(out / r[key])
            assert img.mode == "L" and min(img.size) > 8
    meta = json.load(open(out / "labels.json", encoding="utf-8"))
    assert meta["finding_names"] == list(FINDING_NAMES)
    assert [c["case_id"] for c in meta["cases"]] == [r["case_id"] for r in rows]
    assert meta["shape_zyx"] == list(SHAPE)


def test_nifti_round_trip(dataset):
    nib = pytest.importorskip("nibabel")
    out, _ = dataset
    row = next(csv.DictReader(open(out / "cases.csv", encoding="utf-8")))
    img = nib.load(out / row["ct_path"])
    assert nib.aff2axcodes(img.affine) == ("L", "P", "S")
    dz, dy, dx = SPACING
    assert np.allclose(img.header.get_zooms()[:3], (dx, dy, dz))
    data = np.asarray(img.dataobj)
    assert data.dtype == np.int16
    case = make_case(int(row["seed"]), None, SHAPE, SPACING)
    assert np.array_equal(data, case.volume_hu.transpose(2, 1, 0))  # reproducible from the seed
    # voxel [0, 0, 0] sits at the case origin (LPS), i.e. at RAS (-x0, -y0, z0)
    z0, y0, x0 = case.origin
    assert np.allclose(img.affine @ [0, 0, 0, 1], [-x0, -y0, z0, 1])
    # one step along the stored x axis moves dx toward the patient's left (RAS x decreases)
    step = img.affine @ [1, 0, 0, 1] - img.affine @ [0, 0, 0, 1]
    assert np.allclose(step[:3], [-dx, 0, 0])


def test_case_seeds_do_not_depend_on_n():
    assert case_seeds(4, 5)[:3] == case_seeds(4, 3)


def test_refuses_to_overwrite(dataset):
    out, _ = dataset
    with pytest.raises(PhantomError, match="already contains"):
        write_dataset(out, 1, shape=SHAPE, spacing=SPACING, progress=False)


def test_cli_ok(tmp_path, capsys):
    rc = main(["--n", "1", "--out", str(tmp_path / "d"), "--seed", "2", "--shape", *map(str, SHAPE),
               "--spacing", *map(str, SPACING), "--findings", "pneumothorax:side=left", "--no-progress"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["label_counts"]["pneumothorax"] == 1


@pytest.mark.parametrize(
    "args,words",
    [
        (["--n", "0"], "positive"),
        (["--n", "2", "--findings", "pnemonia"], "unknown finding"),
        (["--n", "2", "--findings", "nodule:diameter_mm=-5"], "positive"),
        (["--n", "2", "--spacing", "1", "-2", "1"], "spacing"),
        (["--n", "2", "--shape", "2", "64", "64"], "shape"),
        (["--n", "2", "--seed", "-3"], "seed"),
        (["--n", "2", "--drr-spacing", "0"], "drr spacing"),
    ],
)
def test_cli_bad_parameters(tmp_path, capsys, args, words):
    rc = main([*args, "--out", str(tmp_path / "x"), "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and words in err
    assert not (tmp_path / "x" / "cases.csv").exists()
