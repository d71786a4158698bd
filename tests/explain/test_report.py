"""The explanation report a person reads: signs in colour, colour bars, titles, captions, an
offline HTML page, and maps at the image's own size."""

import html
import os
import pathlib

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.explain import render
from keras_styletransfer.explain.report import COLUMNS, explanation_report, model_sized
from keras_styletransfer.models.discriminators import PatchGANDiscriminator
from keras_styletransfer.models.generators import UNetGenerator
from keras_styletransfer.models.pix2pix import Pix2Pix

RED, BLUE = (178, 24, 43), (33, 102, 172)  # the ends of RdBu_r, drawn in every signed bar


def test_signed_overlays_are_red_above_zero_blue_below_and_the_photo_where_zero():
    image = np.zeros((8, 12, 3), np.float32)  # mid grey
    values = np.zeros((8, 12), np.float32)
    values[:, :4], values[:, 8:] = 1.0, -1.0
    shown = render.overlay(image, values, signed=True).astype(int)
    left, middle, right = shown[:, :4].mean((0, 1)), shown[:, 4:8], shown[:, 8:].mean((0, 1))
    assert left[0] > left[2] + 40  # red
    assert right[2] > right[0] + 40  # blue
    assert np.all(middle == 128)  # nothing attributed: the grey photo itself


def test_a_signed_map_is_white_at_its_centre_and_symmetric():
    values = np.array([[-2.0, 0.5, 0.5, 3.0]], np.float32)
    colours = render.heatmap(values, signed=True, center=0.5).astype(int)
    assert np.all(colours[0, 1] > 240)  # the centre (a patch map's decision threshold) is white
    low, high = render.map_range(values, signed=True, center=0.5)
    assert low + high == pytest.approx(1.0)


def test_model_sized_keeps_the_aspect_and_rounds_to_the_generator_multiple():
    generator = UNetGenerator(num_downsamplings=2, filters=4, max_filters=8)
    photo = np.zeros((300, 451, 3), np.uint8)
    assert model_sized(photo, generator, 256).shape == (172, 256, 3)
    assert model_sized(photo, generator).shape == (300, 452, 3)
    assert model_sized(np.zeros((16, 20, 3), np.uint8), generator).shape == (16, 20, 3)


@pytest.fixture(scope="module")
def pix2pix():
    model = Pix2Pix(
        UNetGenerator(num_downsamplings=2, filters=4, max_filters=8),
        PatchGANDiscriminator(num_layers=1, filters=4, conditional=True),
    )
    model.compile()
    return model


def colour_share(path, colour, tolerance=30):
    picture = np.asarray(Image.open(path).convert("RGB"), np.int32)
    close = np.abs(picture - np.array(colour)).max(axis=-1) <= tolerance
    return close.mean()


def test_the_report_explains_images_of_different_sizes_at_their_own_size(pix2pix, tmp_path):
    rng = np.random.default_rng(0)
    images = [rng.uniform(-1, 1, shape).astype(np.float32) for shape in ((48, 64, 3), (64, 32, 3))]
    result = explanation_report(
        pix2pix,
        images=images,
        out_dir=str(tmp_path),
        methods=("saliency", "integrated_gradients"),
        steps=4,
        names=["wide", "tall"],
    )
    # Maps, G(x) and overlays at each image's own size.
    assert [m.shape for m in result["maps"]["integrated_gradients"]] == [(48, 64), (64, 32)]
    assert [g.shape for g in result["generated"]] == [(48, 64, 3), (64, 32, 3)]
    assert set(result["maps"]) == {"saliency", "integrated_gradients", "patch_map", "edit"}
    tall = np.asarray(Image.open(result["overlays"]["edit"][1]))
    assert tall.shape == (64, 32, 3)
    assert len(result["edit"]) == 2 and "realness_generated" in result["edit"][0]
    # The sheet: large enough to read, with red and blue colour-bar ends on it.
    sheet = Image.open(result["sheet"])
    assert min(sheet.size) >= 256
    assert colour_share(result["sheet"], RED) > 1e-4 and colour_share(result["sheet"], BLUE) > 1e-4
    # The page: offline (no address outside the folder), every column explained.
    page = pathlib.Path(result["html"]).read_text(encoding="utf-8")
    assert "How to read the columns" in page and "http" not in page and "<script" not in page
    for method in result["maps"]:
        assert html.escape(COLUMNS[method][2]) in page
    for source in [part.split("'")[0] for part in page.split("src='")[1:]]:
        assert os.path.isfile(tmp_path / source), source
