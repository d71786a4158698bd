"""stylize(): any image size, tiles with blended seams, styles and strengths checked."""

import keras
import numpy as np
import pytest

from keras_styletransfer.errors import InputError
from keras_styletransfer.serving.inference import stylize
from keras_styletransfer.validation import check_strength, style_weights


def local_generator(kernel_size, multiple=4):
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(3, kernel_size, padding="same", activation="tanh", name="conv")(images)
    model = keras.Model(images, x)
    model.size_multiple = multiple
    return model


def photo(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_any_size_comes_back_the_same_size_and_matches_a_direct_call():
    generator = local_generator(1)
    images = [photo(37, 53), photo(16, 16, 1), photo(37, 53, 2)]
    outputs = stylize(generator, images)
    assert [o.shape for o in outputs] == [(37, 53, 3), (16, 16, 3), (37, 53, 3)]
    direct = generator.predict(images[1][np.newaxis] / 127.5 - 1.0, verbose=0)[0]
    np.testing.assert_allclose(outputs[1], direct, atol=1e-5)


def test_tiles_are_blended_without_seams():
    image = photo(150, 170)
    pointwise = local_generator(1)
    whole = stylize(pointwise, image, max_tile_pixels=10**6)[0]
    tiled = stylize(pointwise, image, max_tile_pixels=48 * 48)[0]
    np.testing.assert_allclose(tiled, whole, atol=1e-5)  # a 1x1 model: tiling is exact
    spatial = local_generator(5)
    whole = stylize(spatial, image, max_tile_pixels=10**6)[0]
    tiled = stylize(spatial, image, max_tile_pixels=48 * 48)[0]
    # Only pixels near a tile's border see padding; the ramps give them little weight.
    assert np.abs(tiled - whole).mean() < 0.01
    assert np.abs(tiled - whole).max() < 0.5


def test_style_blends_and_strength_are_checked():
    names = ["pencil", "watercolour", "cartoon"]
    np.testing.assert_allclose(style_weights("cartoon", names), [0, 0, 1])
    np.testing.assert_allclose(style_weights({"pencil": 1, "cartoon": 3}, names), [0.25, 0, 0.75])
    with pytest.raises(InputError, match=r"unknown style 'oil'.*pencil"):
        style_weights("oil", names)
    with pytest.raises(InputError, match="not all be 0"):
        style_weights({"pencil": 0}, names)
    with pytest.raises(InputError, match=r"strength must be in \[0, 1\]"):
        check_strength(1.5)
    with pytest.raises(InputError, match="one style only"):
        stylize(local_generator(1), photo(8, 8), style="pencil")


def test_bad_images_are_clear_errors():
    generator = local_generator(1)
    with pytest.raises(InputError, match="4 channels but the model takes 3"):
        stylize(generator, np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(InputError, match=r"float images must be in \[-1, 1\]"):
        stylize(generator, np.full((8, 8, 3), 200.0, np.float32))
    with pytest.raises(InputError, match="NaN"):
        stylize(generator, np.full((8, 8, 3), np.nan, np.float32))


def test_strength_reaches_the_style_generator():
    from keras_styletransfer.models.generators import StyleGenerator

    generator = StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1)
    names = ["pencil", "cartoon", "photo"]
    image = photo(16, 20)
    unit = image / 127.5 - 1.0
    none = stylize(generator, image, style="pencil", strength=0.0, style_names=names)[0]
    np.testing.assert_allclose(none, unit, atol=1e-6)  # strength 0 is the photo
    full = stylize(generator, image, style="pencil", strength=1.0, style_names=names)[0]
    half = stylize(generator, image, style="pencil", strength=0.5, style_names=names)[0]
    assert np.abs(full - unit).mean() > 1e-3
    np.testing.assert_allclose(half, 0.5 * (unit + full), atol=1e-5)  # linear in strength
    with pytest.raises(InputError, match=r"strength must be in \[0, 1\]"):
        stylize(generator, image, style="pencil", strength=1.5, style_names=names)


def test_strength_mixes_a_single_style_generator_with_its_input():
    generator = local_generator(3)
    image = photo(40, 52)
    unit = image / 127.5 - 1.0
    full = stylize(generator, image)[0]
    assert np.abs(full - unit).mean() > 0.1
    np.testing.assert_allclose(stylize(generator, image, strength=0.0)[0], unit, atol=1e-6)
    quarter = stylize(generator, image, strength=0.25)[0]
    np.testing.assert_allclose(quarter, unit + 0.25 * (full - unit), atol=1e-5)
    # Tiled images are mixed tile by tile, before the seams are blended: linear all the same.
    tiled_full = stylize(generator, image, max_tile_pixels=24 * 24)[0]
    tiled = stylize(generator, image, strength=0.25, max_tile_pixels=24 * 24)[0]
    np.testing.assert_allclose(tiled, unit + 0.25 * (tiled_full - unit), atol=1e-5)
    with pytest.raises(InputError, match=r"strength must be in \[0, 1\]"):
        stylize(generator, image, strength=-0.1)
    inputs = keras.Input((None, None, 3))
    gray = keras.Model(inputs, keras.layers.Conv2D(1, 1, name="to_gray")(inputs))
    assert stylize(gray, image)[0].shape == (40, 52, 1)  # strength 1: no mixing needed
    with pytest.raises(InputError, match="cannot be mixed with it"):
        stylize(gray, image, strength=0.5)


def test_long_thin_images_are_tiled_along_their_long_side():
    image = photo(21, 300)  # fewer rows than a tile, and not a multiple of 4
    pointwise = local_generator(1)
    whole = stylize(pointwise, image, max_tile_pixels=10**6)[0]
    tiled = stylize(pointwise, image, max_tile_pixels=48 * 48)[0]
    assert tiled.shape == (21, 300, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_tiny_images_are_padded_as_the_exported_model_pads_them():
    from keras_styletransfer.models.generators import ResnetGenerator
    from keras_styletransfer.serving.verification import reference_outputs

    generator = ResnetGenerator(num_residual_blocks=1, filters=4)
    image = photo(3, 5)  # smaller than the stride-4 ResNet's bottleneck allows
    output = stylize(generator, image)[0]
    assert output.shape == (3, 5, 3)
    expected = reference_outputs(generator, (image / 127.5 - 1.0)[None])[0]
    np.testing.assert_allclose(output, expected, atol=1e-5)
