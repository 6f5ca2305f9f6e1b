"""Axis conventions end to end, and the engine's independence from Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from generation import conventions
from generation.networks.layout import network_to_volume, volume_to_network

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_network_layout_round_trip_and_directions():
    volume = np.arange(3 * 4 * 5).reshape(3, 4, 5)  # [z, y, x]
    net = volume_to_network(volume)
    assert net.shape == (5, 4, 3)  # [X, Y, Z]
    np.testing.assert_array_equal(network_to_volume(net), volume)
    # Network X grows toward the patient's right, volume x toward the left (LPS).
    assert net[0, 0, 0] == volume[0, -1, -1]
    assert conventions.VOLUME_AXIS_DIRECTIONS == ("S", "P", "L")


def test_nifti_written_per_conventions_reaches_the_network_in_ras(tmp_path):
    """A marker in the patient's LEFT hemithorax must stay on the left through the data loader."""
    import nibabel as nib

    from generation.training.data import load_volume

    volume = np.zeros((4, 6, 8), dtype=np.int16)  # [z, y, x]
    volume[1, 2, 7] = 500  # x = last column -> patient's left
    affine = np.diag([-2.0, -3.0, 5.0, 1.0])  # the conventions' NIfTI affine, spacing (5, 3, 2)
    path = tmp_path / "v.nii.gz"
    nib.save(nib.Nifti1Image(volume.transpose(2, 1, 0), affine), str(path))
    net, spacing_xyz = load_volume(path)
    assert spacing_xyz == (2.0, 3.0, 5.0)
    assert np.unravel_index(net.argmax(), net.shape) == (0, 3, 1)  # X = 0 is the far left in RAS
    np.testing.assert_array_equal(network_to_volume(net), volume)


def test_generation_never_imports_django_webapp_or_turing_test():
    code = (
        "import sys, generation, generation.api, generation.registry, generation.pipelines.loading, "
        "generation.training.ldm, generation.training.autoencoder\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'webapp', 'turing_test'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "", f"engine imported: {out.stdout.strip()}"


def test_importing_generation_is_light():
    code = "import sys, generation; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
