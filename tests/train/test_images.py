"""kzoo.train.images: Pillow decodes what TensorFlow refuses; one preparation path for training and predict."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from kzoo.errors import SpecError
from kzoo.train import images


@pytest.fixture
def pictures(tmp_path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (20, 30, 3), dtype="uint8")
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb[..., 0]).save(tmp_path / "grey.bmp")  # a greyscale BMP: TensorFlow's decoder refuses it
    Image.fromarray(np.dstack([rgb, np.full((20, 30), 128, "uint8")])).save(tmp_path / "alpha.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.gif")
    Image.fromarray(rgb[..., 0].astype("uint16") * 257).save(tmp_path / "deep.png")  # 16-bit grey
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "print.jpg")
    return tmp_path, rgb


def test_every_mode_decodes_to_the_channels_asked_for(pictures):
    folder, rgb = pictures
    for name in ("rgb.png", "grey.bmp", "alpha.png", "palette.gif", "deep.png", "print.jpg"):
        for channels in (1, 3):
            a = images.decode(folder / name, channels)
            assert a.dtype == np.uint8 and a.shape == (20, 30, channels), (name, channels)
    np.testing.assert_array_equal(images.decode(folder / "rgb.png", 3), rgb)
    np.testing.assert_array_equal(images.decode(folder / "deep.png", 1)[..., 0], rgb[..., 0])  # 16 bits scaled


def test_load_prepares_an_image_as_training_does(pictures):
    folder, rgb = pictures
    x = images.load(folder / "rgb.png", (16, 16), 3, pad=2)
    assert x.shape == (16, 16, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 1
    assert np.abs(x[:2]).max() == 0 and np.abs(x[:, -2:]).max() == 0  # the padding is zeros
    batch = np.asarray(images.prepare(rgb[None].astype("float32") / 255, (16, 16), 3, 2))
    np.testing.assert_allclose(batch[0], x, atol=1e-6)  # the same numbers as an array source gets


def test_damaged_files_are_named(tmp_path, pictures):
    folder, _ = pictures
    good = (folder / "rgb.png").read_bytes()
    (tmp_path / "half.png").write_bytes(good[: len(good) // 2])
    (tmp_path / "text.jpg").write_text("hello")
    with pytest.raises(SpecError, match="half.png: a damaged image"):
        images.decode(tmp_path / "half.png", 3)
    with pytest.raises(SpecError, match=r"half.png: a damaged image .*\(and 1 more\)"):
        images.verify([tmp_path / "half.png", tmp_path / "text.jpg", folder / "rgb.png"], 3)
