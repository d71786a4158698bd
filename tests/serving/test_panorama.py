"""Panorama: three overlapping views cut from one real photo stitch back to about the photo, the
warp border is cropped, failures are one line, and the stylised panorama has no tile seams."""

import contextlib
import io
import os

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.cli.main import main
from keras_styletransfer.data.offline_photos import load_photo
from keras_styletransfer.errors import InputError
from keras_styletransfer.serving.inference import Stylizer
from keras_styletransfer.serving.panorama import (
    crop_to_content,
    empty_border,
    stitch,
    stylize_panorama,
)
from tests import testing


def views(name="china", fraction=0.5):
    """Three views of `fraction` of the photo's width: left, middle, right (half overlaps)."""
    photo = load_photo(name)
    width = photo.shape[1]
    view = int(width * fraction)
    starts = (0, (width - view) // 2, width - view)
    return photo, [np.array(photo[:, start : start + view]) for start in starts]


def best_offset_difference(stitched, photo, reach=3):
    """Mean |stitched - photo| in grey levels at the best small offset (the crop may trim a
    pixel or two at the top-left)."""
    height, width = stitched.shape[0] - 2 * reach, stitched.shape[1] - 2 * reach
    inner = stitched[reach : reach + height, reach : reach + width].astype(np.float32)
    return min(
        np.abs(inner - photo[dy : dy + height, dx : dx + width]).mean()
        for dy in range(2 * reach + 1)
        for dx in range(2 * reach + 1)
    )


def run_cli(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("name", ["china", "coffee"])
def test_three_views_of_a_photo_stitch_back_to_the_photo(name):
    photo, parts = views(name)
    before = [part.copy() for part in parts]
    stitched, mode = stitch([parts[2], parts[0], parts[1]])  # any order
    assert mode in ("panorama", "scans")
    height, width = photo.shape[:2]
    assert abs(stitched.shape[0] - height) <= 0.03 * height
    assert abs(stitched.shape[1] - width) <= 0.03 * width
    assert stitched.shape[1] > 1.5 * parts[0].shape[1]  # all three views, not one
    assert best_offset_difference(stitched, photo) < 6.0
    black = np.all(stitched == 0, axis=-1)  # the warp border is cropped
    assert black.mean() < 1e-3 and not empty_border(stitched)[[0, -1]].all(axis=1).any()
    for part, original in zip(parts, before, strict=True):
        np.testing.assert_array_equal(part, original)  # inputs untouched


def test_photos_that_do_not_overlap_are_one_clear_error():
    photo = load_photo("china")
    with pytest.raises(InputError, match=r"could not stitch the 2 photos.*overlap"):
        stitch([photo[:, :300], photo[:, 340:]])
    with pytest.raises(InputError, match="at least two"):
        stitch([photo])
    with pytest.raises(InputError, match="not a stitching mode"):
        stitch([photo, photo], mode="cylinder")


def test_crop_removes_the_warp_border_but_keeps_black_inside_the_picture():
    image = np.zeros((40, 60, 3), np.uint8)
    image[5:35, 8:50] = 120
    image[2:5, 20:30] = 90  # a bump of content into the border
    image[15:18, 20:24] = 0  # black inside the picture
    cropped = crop_to_content(image)
    assert cropped.shape[:2] == (30, 42)
    assert (cropped == 0).all(axis=-1).sum() == 12


def conv_generator(seed=0):
    """A generator without normalisation: tiling it must give the whole-image result exactly,
    away from the blended seams (instance norm would differ per tile by design)."""
    import keras

    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu")(images)
    x = keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(x)
    model = keras.Model(images, x)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.4, w.shape).astype("float32") for w in model.weights])
    return model


def test_the_stylised_panorama_has_no_tile_seams():
    _, parts = views("chelsea")
    stitched, _ = stitch(parts)
    generator = conv_generator()
    whole = stylize_panorama(Stylizer(generator, max_tile_pixels=1024 * 1024), stitched)
    tiled = stylize_panorama(Stylizer(generator, max_tile_pixels=96 * 96), stitched)
    assert whole.shape == stitched.shape and whole.dtype == np.uint8
    assert np.abs(whole.astype(float) - stitched).mean() > 5  # it is stylised
    # 96-px tiles: the network sees zero padding at each tile's edge, which the blend ramps
    # weight down (measured: mean 0.22 grey levels, 99th percentile 5, 99.9th 11).
    difference = np.abs(whole.astype(float) - tiled)
    assert difference.mean() < 0.5 and np.percentile(difference, 99) <= 7


def test_panorama_command_writes_the_stitch_and_the_stylised_panorama(tmp_path):
    photo, parts = views("china")
    paths = []
    for index, part in enumerate(parts):
        paths.append(str(tmp_path / f"view{index}.png"))
        Image.fromarray(part).save(paths[-1])
    model = str(tmp_path / "g.keras")
    testing.tiny_resnet().save(model)
    out, stitched = str(tmp_path / "pano.png"), str(tmp_path / "photo.png")
    status, stdout, _ = run_cli(
        "panorama", *paths, "--model", model, "--out", out, "--stitched", stitched
    )
    assert status == 0, stdout
    assert "stitched 3 photos" in stdout
    result, joined = np.asarray(Image.open(out)), np.asarray(Image.open(stitched))
    assert result.shape == joined.shape and abs(result.shape[1] - photo.shape[1]) < 20
    assert np.abs(result.astype(float) - joined).mean() > 5

    for args, fragment in [
        ((paths[0],), "at least two"),
        ((paths[0], str(tmp_path / "none.png")), "not found"),
        ((*paths, "--stitched", out, "--overwrite"), "same file"),
        (tuple(paths), "already exists"),
    ]:
        status, _, stderr = run_cli("panorama", "--model", model, "--out", out, *args)
        assert status == 2 and fragment in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1, stderr
    left, right = tmp_path / "left.png", tmp_path / "right.png"
    Image.fromarray(photo[:, :300]).save(left)
    Image.fromarray(photo[:, 340:]).save(right)
    status, _, stderr = run_cli(
        "panorama", str(left), str(right), "--model", model, "--out", str(tmp_path / "x.png")
    )
    assert status == 2 and "overlap" in stderr and not os.path.exists(tmp_path / "x.png")
    assert len(stderr.strip().splitlines()) == 1, stderr
