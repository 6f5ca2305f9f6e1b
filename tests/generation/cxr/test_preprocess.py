"""Real DICOM CXR preprocessing on synthetic pydicom datasets (MedCoDi-M §3.1)."""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from generation.cxr.preprocess import (
    normalise_input_array,
    pad_to_square,
    preprocess_dicom,
    read_dicom_cxr,
    resample_to_spacing,
    scale_by_bit_depth,
    to_model_input,
    view_from_position,
)
from generation.errors import InvalidRequest


def make_dx(
    pixels: np.ndarray, bits_stored: int = 12, photometric: str = "MONOCHROME2", spacing=(0.2, 0.2),
    spacing_tag: str = "ImagerPixelSpacing", view: str = "PA",
) -> pydicom.Dataset:  # fmt: skip
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPInstanceUID = generate_uid()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Modality = "DX"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    setattr(ds, spacing_tag, [str(v) for v in spacing])
    ds.ViewPosition = view
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    return ds


def test_scaling_uses_the_bit_depth_not_the_image_maximum():
    raw = np.array([[0, 2047], [4095, 1000]], dtype=np.uint16)
    out = read_dicom_cxr(make_dx(raw, bits_stored=12)).pixels
    assert out.dtype == np.float32
    assert out[0, 0] == 0.0 and out[1, 0] == pytest.approx(1.0)
    assert out[0, 1] == pytest.approx(2047 / 4095)
    # The same values stored as 14-bit data are darker: scaling is by 2^14 - 1.
    assert read_dicom_cxr(make_dx(raw, bits_stored=14)).pixels[1, 0] == pytest.approx(4095 / 16383)
    assert scale_by_bit_depth(np.array([-2048, 2047]), 12, signed=True).tolist() == pytest.approx([0.0, 1.0])


def test_monochrome1_is_inverted():
    raw = np.array([[0, 4095], [1024, 3000]], dtype=np.uint16)
    mono2 = read_dicom_cxr(make_dx(raw)).pixels
    mono1 = read_dicom_cxr(make_dx(raw, photometric="MONOCHROME1")).pixels
    assert np.allclose(mono1, 1.0 - mono2)


def test_spacing_is_read_and_resampled():
    raw = np.full((40, 20), 2000, dtype=np.uint16)  # 40 rows at 0.1 mm, 20 cols at 0.2 mm
    image = read_dicom_cxr(make_dx(raw, spacing=(0.1, 0.2), spacing_tag="PixelSpacing"))
    assert image.pixel_spacing_mm == (0.1, 0.2)
    out = resample_to_spacing(image.pixels, image.pixel_spacing_mm, 0.2)
    assert out.shape == (20, 20)  # 4 mm x 4 mm kept
    assert np.allclose(out, 2000 / 4095, atol=1e-5)
    assert read_dicom_cxr(make_dx(raw)).pixel_spacing_mm == (0.2, 0.2)  # ImagerPixelSpacing fallback


def test_padding_to_square_keeps_the_image_centred_and_undistorted():
    img = np.ones((4, 8), dtype=np.float32)
    out = pad_to_square(img)
    assert out.shape == (8, 8)
    assert out[:2].sum() == 0 and out[6:].sum() == 0 and out[2:6].min() == 1.0
    tall = pad_to_square(np.ones((6, 3), dtype=np.float32))
    assert tall.shape == (6, 6) and tall[:, 0].sum() == 0 and tall[:, 1:4].min() == 1.0


def test_full_preprocessing_to_model_size():
    raw = np.zeros((300, 200), dtype=np.uint16)
    raw[:, 100:] = 4095  # patient's left half bright (image right)
    model_input, image = preprocess_dicom(make_dx(raw, spacing=(0.15, 0.15)), size=64, target_spacing_mm=0.3)
    assert model_input.shape == (64, 64) and model_input.dtype == np.float32
    assert 0.0 <= model_input.min() and model_input.max() <= 1.0
    assert image.view == "frontal"
    # 300 x 200 at 0.15 mm -> 150 x 100 at 0.3 mm -> padded to 150 x 150 -> 64 x 64:
    # columns 0-10 are padding, the bright half sits right of the centre, left of the right padding.
    assert model_input[:, :8].max() == 0.0 and model_input[:, -8:].max() == 0.0
    assert model_input[32, 40] > 0.9 and model_input[32, 24] < 0.1


def test_view_positions_and_input_arrays():
    assert view_from_position("PA") == "frontal" and view_from_position("ll") == "lateral"
    assert view_from_position("") is None
    assert normalise_input_array(np.array([[0, 255] * 4] * 8, dtype=np.uint8)).max() == 1.0
    with pytest.raises(InvalidRequest):
        normalise_input_array(np.full((8, 8), 3.0))
    with pytest.raises(InvalidRequest):
        to_model_input(np.zeros((4, 4, 3)), 16)


def test_read_input_image_accepts_dicom_and_png(tmp_path):
    from PIL import Image

    from generation.cxr.preprocess import read_input_image

    raw = np.array([[0, 4095] * 8] * 16, dtype=np.uint16)
    ds = make_dx(raw, photometric="MONOCHROME1", view="LL")
    ds.save_as(tmp_path / "lat.dcm", enforce_file_format=True)
    lateral = read_input_image(tmp_path / "lat.dcm")
    assert lateral.view == "lateral" and lateral.pixels[0, 0] == pytest.approx(1.0)
    Image.fromarray(np.full((16, 20), 255, dtype=np.uint8)).save(tmp_path / "f.png")
    frontal = read_input_image(tmp_path / "f.png")
    assert frontal.pixels.shape == (16, 20) and frontal.pixels.max() == 1.0 and frontal.pixel_spacing_mm is None
    with pytest.raises(InvalidRequest):
        read_input_image(tmp_path / "missing.png")
