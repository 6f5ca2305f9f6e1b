"""Every finding changes the volume where (and how) it should; bad parameters are refused."""

import numpy as np
import pytest

from generation.phantom import PhantomError, make_case, make_finding, parse_findings
from generation.phantom.findings import FINDING_TYPES, check_compatible


def _coords(c):
    return [c.origin[i] + c.spacing[i] * np.arange(c.volume_hu.shape[i]) for i in range(3)]


def test_right_effusion_is_dependent_fluid(small):
    normal = small(12, [], noise=False, drr=False)
    eff = small(12, ["pleural_effusion:side=right:size=large"], noise=False, drr=False)
    zs, ys, _ = _coords(normal)
    lower = zs[:, None, None] < np.percentile(zs[np.nonzero(normal.masks["lung_right"])[0]], 40)
    post = ys[None, :, None] > 20.0
    for side, expect_fluid in (("right", True), ("left", False)):
        region = normal.masks[f"lung_{side}"] & lower & post
        before = normal.volume_hu[region].mean()
        after = eff.volume_hu[region].mean()
        assert before < -600
        if expect_fluid:
            assert -150 < after < 80, after  # water-like
        else:
            assert abs(after - before) < 5
    assert eff.masks["effusion_right"].any() and "effusion_left" not in eff.masks


def test_effusion_sizes_grow(small):
    vols = [small(12, [f"pleural_effusion:side=left:size={s}"], noise=False, drr=False).parameters["measurements"]["effusion_left_ml"]
            for s in ("small", "moderate", "large")]
    assert vols[0] < vols[1] < vols[2]


@pytest.mark.parametrize("side", ["left", "right"])
def test_pneumothorax_side_and_anterior_air(small, side):
    normal = small(13, [], noise=False, drr=False)
    ptx = small(13, [f"pneumothorax:side={side}:size=large"], noise=False, drr=False)
    other = "right" if side == "left" else "left"
    _, ys, _ = _coords(normal)
    ant = ys[None, :, None] < 0
    lung = normal.masks[f"lung_{side}"] & ant
    assert ptx.volume_hu[lung].mean() < normal.volume_hu[lung].mean() - 60  # anterior air, no lung
    assert ptx.masks[f"pneumothorax_{side}"].sum() > 0
    keep = normal.masks[f"lung_{other}"]
    assert abs(ptx.volume_hu[keep].mean() - normal.volume_hu[keep].mean()) < 3


def test_cardiomegaly_enlarges_heart(small):
    normal = small(14, [], noise=False, drr=False)
    big = small(14, ["cardiomegaly:severity=severe"], noise=False, drr=False)
    assert big.masks["heart"].sum() > 1.5 * normal.masks["heart"].sum()
    assert big.parameters["measurements"]["cardiothoracic_ratio"] > 0.55
    assert normal.parameters["measurements"]["cardiothoracic_ratio"] < 0.55


def test_pericardial_effusion_is_a_fluid_rim(small):
    c = small(14, ["pericardial_effusion:size=large"], noise=False, drr=False)
    rim = c.masks["pericardial_fluid"]
    assert rim.sum() > 20
    assert -20 < c.volume_hu[rim].mean() < 45


def test_nodule_diameter_from_mask():
    for d, margin in ((14.0, "smooth"), (24.0, "spiculated")):
        c = make_case(15, [f"nodule:lobe=LLL:diameter_mm={d}:margin={margin}:density=solid"], (80, 96, 96),
                      (4.0, 4.0, 4.0), drr=False, noise=False)
        m = c.masks["nodule"]
        eq = (6.0 * m.sum() * np.prod(c.spacing) / np.pi) ** (1 / 3)
        assert abs(eq - d) / d < 0.2, (d, eq)
        centre = c.findings[0].centre_mm  # x, y, z mm
        idx = tuple(int(round((centre[2 - k] - c.origin[k]) / c.spacing[k])) for k in range(3))
        assert c.volume_hu[idx] > 0  # solid: soft tissue at its centre


def test_mass_and_ground_glass_nodule(small):
    c = small(16, ["mass:lobe=RUL:diameter_mm=50"], noise=False, drr=False)
    assert c.masks["mass"].sum() * np.prod(c.spacing) > 0.5 * (4 / 3) * np.pi * 25**3
    g = make_case(16, ["nodule:lobe=RLL:diameter_mm=20:density=ground_glass"], (80, 96, 96), (4.0, 4.0, 4.0),
                  drr=False, noise=False)
    hu = g.volume_hu[g.masks["nodule"]].mean()
    assert -750 < hu < -300, hu


def test_consolidation_in_its_lobe(small):
    c = small(17, ["consolidation:lobe=RLL:extent=lobar"], noise=False, drr=False)
    m = c.masks["consolidation"]
    assert m.sum() > 30
    assert c.volume_hu[m].mean() > -250  # airspace filled (air bronchograms lower the mean a bit)
    assert (m & c.masks["lung_left"]).sum() == 0
    zs, _, _ = _coords(c)
    assert zs[np.nonzero(m)[0]].mean() < zs[np.nonzero(c.masks["lung_right"])[0]].mean()  # lower lobe


def test_ground_glass_is_bilateral_and_hazy(small):
    normal = small(18, [], noise=False, drr=False)
    c = small(18, ["ground_glass_opacity:severity=severe"], noise=False, drr=False)
    m = c.masks["ground_glass"]
    assert (m & normal.masks["lung_right"]).sum() > 10 and (m & normal.masks["lung_left"]).sum() > 10
    assert -780 < c.volume_hu[m].mean() < -300
    assert c.volume_hu[m].mean() > normal.volume_hu[m].mean() + 100


def test_emphysema_low_attenuation(small):
    fine = ((60, 80, 80), (5.0, 5.0, 5.0))
    normal = make_case(19, [], *fine, drr=False, noise=False)
    c = make_case(19, ["emphysema:kind=centrilobular:severity=severe"], *fine, drr=False, noise=False)
    assert c.parameters["measurements"]["laa950_percent"] > normal.parameters["measurements"]["laa950_percent"] + 1.0


def test_atelectasis_lobar_and_linear(small):
    lob = small(20, ["atelectasis:lobe=LLL:kind=lobar"], noise=False, drr=False)
    m = lob.masks["atelectasis"]
    assert m.sum() > 5 and lob.volume_hu[m].mean() > -150
    lin = make_case(20, ["atelectasis:lobe=RLL:kind=linear"], (60, 80, 80), (5.0, 5.0, 5.0), drr=False, noise=False)
    assert lin.masks["atelectasis"].any()


@pytest.mark.parametrize("name", sorted(set(FINDING_TYPES) - {"mass"}))
def test_every_finding_changes_the_volume(small, name):
    normal = small(21, [], noise=False, drr=False)
    c = small(21, [name], noise=False, drr=False)
    diff = np.abs(c.volume_hu.astype(np.int32) - normal.volume_hu)
    assert (diff > 50).sum() >= 3, name


@pytest.mark.parametrize(
    "spec,words",
    [
        ("pnemonia", "unknown finding 'pnemonia'"),
        ("nodule:diameter_mm=-4", "positive"),
        ("nodule:diameter_mm=abc", "number"),
        ("nodule:diameter_mm=35", "'mass'"),
        ("mass:diameter_mm=12", "'nodule'"),
        ("nodule:lobe=RXL", "lobe must be one of"),
        ("pleural_effusion:side=up", "side must be one of right, left, bilateral"),
        ("pleural_effusion:size=huge", "size must be one of small, moderate, large"),
        ("pneumothorax:side=bilateral", "side must be one of right, left"),
        ("nodule:colour=red", "unknown parameter"),
        ("nodule:diameter_mm", "key=value"),
        ("consolidation:air_bronchograms=maybe", "true or false"),
        ("pleural_effusion:depth_mm=-2", "positive"),
        ("cardiomegaly:severity=gigantic", "severity"),
        ("nodule,,cardiomegaly", "empty finding"),
    ],
)
def test_bad_parameters_raise_clear_errors(spec, words):
    with pytest.raises(PhantomError) as exc:
        parse_findings(spec)
    assert words in str(exc.value)


def test_incompatible_combinations():
    with pytest.raises(PhantomError, match="same"):
        check_compatible(parse_findings("pleural_effusion:side=right,pneumothorax:side=right"))
    with pytest.raises(PhantomError, match="only once"):
        check_compatible(parse_findings("cardiomegaly,cardiomegaly"))
    with pytest.raises(PhantomError, match="same lobe"):
        check_compatible(parse_findings("consolidation:lobe=RLL,atelectasis:lobe=RLL:kind=lobar"))
    with pytest.raises(PhantomError):
        make_case(1, "pleural_effusion:side=bilateral,pneumothorax:side=left", (16, 16, 16), (20, 20, 20))


def test_make_finding_accepts_words_and_aliases():
    f = make_finding("Nodule", lobe="right upper lobe", diameter_mm="9.5", density="ground-glass")
    assert f.lobe == "RUL" and f.diameter_mm == 9.5 and f.density == "ground_glass"
    assert make_finding("effusion", side="Left").side == "left"
    assert make_finding("ggo").name == "ground_glass_opacity"
    with pytest.raises(PhantomError, match="non-empty"):
        make_finding("")
