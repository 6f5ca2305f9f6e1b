"""Determinism, shapes, labels and conventions of generated cases."""

import numpy as np
import pytest

from generation import conventions
from generation.phantom import FINDING_NAMES, PhantomError, make_case, make_report
from generation.phantom.findings import label_vector


def test_same_seed_same_case(small, small_grid):
    a = make_case(5, None, *small_grid)
    b = small(5, None)
    assert np.array_equal(a.volume_hu, b.volume_hu)
    assert np.array_equal(a.labels, b.labels)
    assert a.report.text == b.report.text
    assert np.array_equal(a.frontal.attenuation, b.frontal.attenuation)
    assert a.parameters == b.parameters


def test_different_seeds_differ(small):
    a, b = small(5, None), small(6, None)
    assert not np.array_equal(a.volume_hu, b.volume_hu)


def test_volume_format_and_geometry(small, small_grid):
    c = small(1, [])
    assert c.volume_hu.dtype == np.int16
    assert c.volume_hu.shape == small_grid[0]
    assert c.spacing == small_grid[1]
    assert -1024 <= c.volume_hu.min() and c.volume_hu.max() <= 3071
    # a chest: plenty of lung-density voxels, soft tissue, and some bone
    v = c.volume_hu
    assert 0.08 < np.mean((v < -700) & (v > -950)) < 0.5
    assert np.mean((v > 0) & (v < 100)) > 0.05
    assert np.mean(v > 300) > 0.002


def test_anatomy_orientation(small):
    """Heart left of the midline and anterior, spine posterior, liver under the right dome."""
    c = small(2, [])
    zs, ys, xs = (c.origin[i] + c.spacing[i] * np.arange(c.volume_hu.shape[i]) for i in range(3))
    heart = c.masks["heart"]
    k, j, i = (q.mean() for q in np.nonzero(heart))
    assert np.interp(i, np.arange(len(xs)), xs) > 5.0  # x > 0: patient's left
    body = c.masks["body"]
    _, jb, _ = (q.mean() for q in np.nonzero(body))
    assert j < jb  # anterior of the body's centre
    liver = c.masks["liver"]
    li = np.nonzero(liver)[2].mean()
    assert np.interp(li, np.arange(len(xs)), xs) < 0  # patient's right
    # the right hemidiaphragm is higher: the right lung's lowest voxel is not below the left's
    zr = np.nonzero(c.masks["lung_right"])[0].min()
    zl = np.nonzero(c.masks["lung_left"])[0].min()
    assert zr >= zl


def test_label_vector_matches_findings(small):
    c = small(0, ["pleural_effusion:side=left", "nodule:lobe=RUL:diameter_mm=12", "cardiomegaly"])
    d = c.label_dict
    assert list(d) == list(FINDING_NAMES)
    assert {k for k, v in d.items() if v} == {"pleural_effusion", "lung_nodule", "cardiomegaly"}
    assert np.array_equal(c.labels, label_vector(c.findings))
    assert c.parameters["labels"] == d
    names = [f["finding"] for f in c.parameters["findings"]]
    assert names == ["pleural_effusion", "nodule", "cardiomegaly"]
    assert c.parameters["findings"][1]["diameter_mm"] == 12.0


def test_mass_label():
    _, _, labels, fl = make_report(3, ["mass:diameter_mm=45"])
    d = dict(zip(FINDING_NAMES, labels, strict=True))
    assert d["lung_mass"] == 1 and d["lung_nodule"] == 0
    assert fl[0].kind == "mass"


def test_normal_share_of_random_mix():
    labels = np.array([make_report(s)[2] for s in range(200)])
    normal = np.mean(labels.sum(1) == 0)
    assert 0.15 < normal < 0.35
    assert labels.sum(0).min() > 0  # every finding occurs


def test_same_patient_with_and_without_a_finding(small):
    """Explicit findings keep the patient: the left lung is untouched by a right effusion."""
    a = small(7, [], noise=False)
    b = small(7, ["pleural_effusion:side=right:size=moderate"], noise=False)
    left = a.masks["lung_left"]
    assert np.abs(a.volume_hu[left].astype(int) - b.volume_hu[left]).mean() < 1.0
    assert np.abs(a.volume_hu.astype(int) - b.volume_hu).max() > 200


def test_report_only_path_matches_make_case(small):
    c = small(4, None)
    report, cxr, labels, _ = make_report(4)
    assert report.text == c.report.text
    assert cxr.text == c.cxr_report.text
    assert np.array_equal(labels, c.labels)


@pytest.mark.parametrize("shape,spacing", [((24, 40, 32), (12.0, 9.0, 11.0)), ((16, 16, 16), (20.0, 20.0, 20.0))])
def test_any_grid(shape, spacing):
    c = make_case(11, ["consolidation:lobe=LLL"], shape, spacing, drr=False)
    assert c.volume_hu.shape == shape
    assert c.masks["consolidation"].any()


def test_conventions_module():
    assert conventions.VOLUME_AXES == ("z", "y", "x")
    assert conventions.VOLUME_AXIS_DIRECTIONS == ("S", "P", "L")


@pytest.mark.parametrize(
    "kwargs,words",
    [
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": 1, "shape": (64, 64)}, "shape"),
        ({"seed": 1, "shape": (4, 64, 64)}, "shape"),
        ({"seed": 1, "spacing_mm": (5, -6, 6)}, "spacing"),
        ({"seed": 1, "spacing_mm": (5, 6, "a")}, "spacing"),
        ({"seed": 1, "p_normal": 1.5}, "p_normal"),
    ],
)
def test_bad_case_arguments(kwargs, words):
    with pytest.raises(PhantomError, match=words):
        make_case(**kwargs)
