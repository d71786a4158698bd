"""The deterministic styles: shapes, determinism, what each style does, and their locality."""

import functools

import numpy as np
import pytest

from keras_styletransfer.data.offline_photos import load_photo
from keras_styletransfer.data.styles import (
    STYLES,
    apply_style,
    apply_style_batch,
    ink_wash,
    locality,
    oil_painting,
    style_name,
    watercolour,
)
from keras_styletransfer.errors import InputError

PAPER = (240, 234, 220)
INK = (24, 22, 26)


@pytest.fixture(scope="module")
def coffee_crop():
    return np.ascontiguousarray(load_photo("coffee")[100:132, 200:232])


@pytest.mark.parametrize("name", list(STYLES))
def test_styles_are_deterministic_across_calls_and_thread_counts(name, coffee_crop):
    import cv2

    image = coffee_crop
    threads = cv2.getNumThreads()
    try:
        first, second = apply_style(name, image), apply_style(name, image)
        cv2.setNumThreads(1)
        single = apply_style(name, image)
        cv2.setNumThreads(2)
        double = apply_style(name, image)
    finally:
        cv2.setNumThreads(threads)
    assert first.shape == image.shape and first.dtype == np.uint8
    for other in (second, single, double):
        np.testing.assert_array_equal(first, other)
    assert not np.array_equal(first, image)
    wide = np.ascontiguousarray(load_photo("rocket")[:40, :70])  # not square: shape kept
    assert apply_style(name, wide).shape == (40, 70, 3)


def test_registry_names_and_aliases(coffee_crop):
    assert set(STYLES) == {"pencil", "watercolour", "cartoon", "detail", "ink", "oil"}
    assert style_name("Ink_Wash") == "ink" and style_name(" oil_painting ") == "oil"
    np.testing.assert_array_equal(apply_style("ink_wash", coffee_crop), ink_wash(coffee_crop))
    sketch = apply_style("pencil", coffee_crop)
    np.testing.assert_array_equal(sketch[..., 0], sketch[..., 2])  # gray, as documented
    np.testing.assert_array_equal(
        apply_style("watercolor", coffee_crop), apply_style("watercolour", coffee_crop)
    )
    batch = apply_style_batch("oil", np.stack([coffee_crop, coffee_crop[::-1]]))
    np.testing.assert_array_equal(batch[1], oil_painting(np.ascontiguousarray(coffee_crop[::-1])))


def test_unknown_style_or_bad_image_is_explained():
    with pytest.raises(InputError, match=r"unknown style 'sepia'.*'pencil'.*'ink'.*'oil'"):
        apply_style("sepia", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(InputError, match=r"RGB uint8 image of shape \(H, W, 3\).*float64"):
        apply_style("ink", np.zeros((8, 8, 3)))
    with pytest.raises(InputError, match="at least 3x3"):
        apply_style("oil", np.zeros((2, 8, 3), np.uint8))


def test_ink_is_one_ink_on_paper_with_blank_highlights_and_dark_strokes():
    white = np.full((24, 24, 3), 255, np.uint8)
    np.testing.assert_array_equal(ink_wash(white), np.broadcast_to(PAPER, white.shape))
    # A black square on white: a wash inside, a full-strength stroke along its edge.
    image = white.copy()
    image[8:24, 8:24] = 0
    painted = ink_wash(image).astype(float)
    # Every pixel is the paper colour mixed with the ink colour: one ink, no other hue.
    density = (np.array(PAPER) - painted) / (np.array(PAPER) - np.array(INK))
    assert np.abs(density - density[..., :1]).max() < 0.02
    density = density[..., 0]
    assert density[2, 2] < 0.01  # far from the square: blank paper
    wash, stroke = density[20, 20], density[8:24, 7:10].max()
    assert 0.6 < wash < 0.9  # a wash, capped below full ink
    assert stroke > wash + 0.05  # the edge is drawn darker than the wash
    # Oil keeps colours and their channel order (a red image stays red).
    colour = np.zeros((16, 16, 3), np.uint8)
    colour[..., 0] = 200
    red = oil_painting(colour)
    assert red[..., 0].min() >= 190 and red[..., 2].max() <= 10  # RGB order kept


def test_oil_paints_flat_dabs(coffee_crop):
    import cv2

    painted = oil_painting(coffee_crop)
    expected = cv2.xphoto.oilPainting(
        cv2.cvtColor(coffee_crop, cv2.COLOR_RGB2BGR), 3, 4, cv2.COLOR_BGR2GRAY
    )
    np.testing.assert_array_equal(painted, cv2.cvtColor(expected, cv2.COLOR_BGR2RGB))

    def roughness(image):  # mean absolute difference between horizontal neighbours
        return np.abs(np.diff(image.astype(int), axis=1)).mean()

    assert roughness(painted) < 0.8 * roughness(coffee_crop)


@pytest.fixture(scope="module")
def two_training_photos():
    return [load_photo(name) for name in ("astronaut", "hubble_deep_field")]


@pytest.mark.parametrize("name", list(STYLES))
def test_every_style_is_local(name, two_training_photos):
    """style(crop) ~= crop(style(whole)) inside the crop: what the model sees decides the target."""
    scores = locality(name, two_training_photos, crops_per_scale=2)
    assert scores.shape == (12,)
    assert scores.min() >= 0.9, scores.round(3)


def test_locality_detects_a_style_that_reaches_past_the_crop(two_training_photos):
    # Watercolour's former sigma_s=60 px: the recursive filter carries light across a 64 px crop.
    wide = functools.partial(watercolour, sigma_s=60.0)
    assert locality(wide, two_training_photos, crops_per_scale=2).min() < 0.9
    # The identity is perfectly local; a mirror image is not.
    assert locality(lambda image: image, two_training_photos[:1]).min() == pytest.approx(1.0)
    mirror = locality(lambda image: np.ascontiguousarray(image[:, ::-1]), two_training_photos)
    assert mirror.max() < 0.9
    with pytest.raises(InputError, match="margin"):
        locality("ink", two_training_photos, crop_size=16, margin=8)
