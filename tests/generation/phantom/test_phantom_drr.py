"""Radiographs: physics sanity, display orientation, and consistency with the CT findings."""

import numpy as np

from generation.phantom.drr import MU_WATER_PER_MM, hu_to_mu, project


def test_hu_to_mu():
    mu = hu_to_mu(np.array([-1000.0, 0.0, -500.0, 1000.0]))
    assert mu[0] == 0.0
    assert np.isclose(mu[1], MU_WATER_PER_MM)
    assert np.isclose(mu[2], 0.5 * MU_WATER_PER_MM)
    assert mu[3] > 2.0 * MU_WATER_PER_MM  # bone relatively denser at radiograph energies


def test_display_orientation_with_a_marker():
    """A dense marker at the patient's right, anterior, superior lands where a radiologist expects."""
    vol = np.full((20, 30, 40), -1000.0, dtype=np.float32)  # [z, y, x]
    vol[17, 3, 4] = 3000.0  # z high = superior, y low = anterior, x low = patient's right
    frontal, lateral = project(vol, (2.0, 2.0, 2.0))
    r, c = np.unravel_index(np.argmax(frontal.attenuation), frontal.attenuation.shape)
    assert r < 5 and c < 8  # top; image left = patient right (PA convention)
    r, c = np.unravel_index(np.argmax(lateral.attenuation), lateral.attenuation.shape)
    assert r < 5 and c < 8  # top; image left = anterior (left lateral convention)
    # line integral of a uniform water slab
    slab = np.zeros((4, 50, 6), dtype=np.float32)
    f, _ = project(slab, (1.0, 2.0, 1.0))
    assert np.allclose(f.attenuation, MU_WATER_PER_MM * 100.0, rtol=1e-5)


def test_square_pixels():
    vol = np.zeros((10, 20, 30), dtype=np.float32)
    f, lat = project(vol, (5.0, 2.0, 2.5), pixel_mm=2.5)
    assert f.attenuation.shape == (20, 30)
    assert lat.attenuation.shape == (20, 16)
    assert f.pixel_mm == 2.5


def test_right_effusion_raises_attenuation_on_image_left(small):
    normal = small(31, [], noise=False)
    eff = small(31, ["pleural_effusion:side=right:size=large"], noise=False)
    d = eff.frontal.attenuation - normal.frontal.attenuation
    h, w = d.shape
    lower = slice(h // 2, h)
    left_img, right_img = d[lower, : w // 2].sum(), d[lower, w // 2:].sum()
    assert left_img > 0.5 and left_img > 10 * max(right_img, 1e-3)
    # upright: the fluid is basal, so the lower half gains more than the upper half
    assert d[lower].sum() > 2 * d[: h // 2].sum()


def test_frontal_and_lateral_share_the_patient(small):
    c = small(32, [])
    f, lat = c.frontal.attenuation, c.lateral.attenuation
    assert f.shape[0] == lat.shape[0]  # same craniocaudal extent and pixel size
    # total attenuation is a property of the patient, not of the view
    assert abs(f.sum() * c.frontal.pixel_mm - lat.sum() * c.lateral.pixel_mm) / (f.sum() * c.frontal.pixel_mm) < 0.1
    img = c.frontal.image()
    assert img.dtype == np.uint8 and img.min() == 0 and img.max() == 255


def test_cardiomegaly_widens_the_cardiac_shadow(small):
    normal = small(33, [])
    big = small(33, ["cardiomegaly:severity=severe"])
    assert big.frontal.attenuation.sum() > normal.frontal.attenuation.sum()
