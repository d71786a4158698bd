"""Explain's pictures: images in [-1, 1] are shown as they are (never range-guessed), and every
figure is drawn without pyplot or a backend switch."""

import pathlib

import numpy as np
from PIL import Image

import keras_styletransfer.explain
from keras_styletransfer.explain import render


def mostly_white(side=16):
    """A [-1, 1] image: white, with a mid-grey square (0.0) that is the only non-white part."""
    image = np.ones((side, side, 3), np.float32)
    image[4:8, 4:8] = 0.0
    return image


def test_a_mostly_white_image_in_model_range_renders_white_not_washed_out():
    image = mostly_white()
    shown = render.overlay(image, np.zeros((16, 16), np.float32), image_weight=1.0)
    assert shown.dtype == np.uint8 and shown.shape == (16, 16, 3)
    assert np.all(shown[8:, 8:] == 255)  # white stays white
    # 0.0 in [-1, 1] is mid grey (128); a [0, 1] guess would have made it black.
    assert np.all(shown[4:8, 4:8] == 128)


def test_grids_show_model_range_images_as_they_are(tmp_path):
    from keras_styletransfer.images import as_rgb_uint8

    path = render.save_grid(
        str(tmp_path / "grid.png"), [[as_rgb_uint8(mostly_white(64))]], ["white"], title="t"
    )
    picture = np.asarray(Image.open(path).convert("L"), np.float64)
    assert picture.mean() > 200  # a white page with a white image, not a grey one


def test_explain_has_no_pyplot_no_backend_switch_and_no_global_seed():
    for path in pathlib.Path(keras_styletransfer.explain.__file__).parent.glob("*.py"):
        text = path.read_text()
        forbidden_code = ("import matplotlib.pyplot", "matplotlib.use(", "set_random_seed(")
        for forbidden in (*forbidden_code, "document 00"):
            assert forbidden not in text, f"{path.name}: {forbidden}"
