"""Upsampling by transposed convolution or by resize + convolution, in every image generator."""

import keras
import numpy as np
import pytest

from keras_styletransfer.layers import check_upsampling
from keras_styletransfer.models.generators import ResnetGenerator, StyleGenerator, UNetGenerator
from keras_styletransfer.models.multistyle_paired import StyleUNetGenerator
from tests.testing import keras_round_trip

BUILDERS = {
    "unet": lambda **kw: UNetGenerator(num_downsamplings=2, filters=4, max_filters=8, **kw),
    "resnet": lambda **kw: ResnetGenerator(num_residual_blocks=1, filters=4, **kw),
    "style": lambda **kw: StyleGenerator(num_styles=2, filters=4, num_residual_blocks=1, **kw),
    "style_unet": lambda **kw: StyleUNetGenerator(
        num_styles=2, num_downsamplings=2, filters=4, max_filters=8, **kw
    ),
}


def inputs_for(generator, images):
    if len(generator.inputs) == 3:
        count = len(images)
        return {
            "image": images,
            "style": np.eye(2, dtype="float32")[np.arange(count) % 2],
            "strength": np.ones((count, 1), "float32"),
        }
    return images


def checkerboard_energy(image):
    """Mean squared response of the 2x2 kernel [[1, -1], [-1, 1]] / 2: zero on flat areas, ramps
    and straight edges; large on a period-2 grid."""
    image = np.asarray(image, np.float64)
    response = (image[:-1, :-1] - image[:-1, 1:] - image[1:, :-1] + image[1:, 1:]) / 2.0
    return float(np.mean(response**2))


@pytest.mark.parametrize("kind", ["unet", "resnet", "style"])
def test_transpose_stays_the_default_and_resize_round_trips(kind, tmp_path):
    default = BUILDERS[kind]()
    assert default.get_config()["upsampling"] == "transpose"
    assert isinstance(default.get_layer("up1"), keras.layers.Conv2DTranspose)
    # A config saved before the argument existed builds the same (transposed) layout.
    old_config = {k: v for k, v in default.get_config().items() if k != "upsampling"}
    old = type(default).from_config(old_config)
    assert [type(layer) for layer in old.layers] == [type(layer) for layer in default.layers]

    resized = BUILDERS[kind](upsampling="resize")
    assert type(resized.get_layer("up1")) is keras.layers.Conv2D
    assert resized.get_layer("up1").kernel_size == (3, 3)
    assert isinstance(resized.get_layer("up1_resize"), keras.layers.UpSampling2D)
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in resized.layers)
    config = resized.get_config()
    rebuilt = type(resized).from_config(config)
    assert rebuilt.get_config() == config and config["upsampling"] == "resize"

    data = inputs_for(resized, np.random.default_rng(0).uniform(-1, 1, (2, 16, 24, 3)))
    data = data if isinstance(data, dict) else data.astype("float32")
    expected = np.asarray(resized(data, training=False))
    assert expected.shape == (2, 16, 24, 3)
    restored = keras_round_trip(resized, tmp_path)
    assert restored.get_config()["upsampling"] == "resize"
    np.testing.assert_array_equal(np.asarray(restored(data, training=False)), expected)


def test_unknown_upsampling_is_refused_clearly():
    for kind in BUILDERS:
        with pytest.raises(ValueError, match="`upsampling` must be one of 'transpose', 'resize'"):
            BUILDERS[kind](upsampling="bicubic")
    assert check_upsampling("resize") == "resize"


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_resize_upsampling_draws_no_checkerboard_where_transpose_does(kind):
    # A flat grey photo: whatever the weights, a translation-equivariant network keeps the
    # interior flat. A stride-2 transposed convolution is equivariant only to shifts of 2, so its
    # four output phases get different values: the period-2 grid. Resize + conv has none.
    keras.utils.set_random_seed(3)
    energies = {}
    for mode in ("transpose", "resize"):
        generator = BUILDERS[kind](upsampling=mode)
        flat = np.full((1, 128, 128, 3), 0.3, "float32")
        output = np.asarray(generator(inputs_for(generator, flat), training=False))[0]
        interior = output[40:-40, 40:-40]
        energies[mode] = checkerboard_energy(interior)
        if mode == "resize":
            assert np.ptp(interior, axis=(0, 1)).max() < 1e-5, kind  # flat in, flat out
    assert energies["resize"] < 1e-10
    assert energies["transpose"] > 1e4 * max(energies["resize"], 1e-14), energies


@pytest.mark.parametrize("kind", ["unet", "style_unet"])
def test_resize_generators_trace_with_unknown_height_and_width(kind):
    # Serving traces the generator once for any size. (Keras' bilinear UpSampling2D cannot be
    # traced with unknown sizes; the nearest-neighbour resize used here can.)
    import tensorflow as tf

    generator = BUILDERS[kind](upsampling="resize")
    image = tf.TensorSpec((None, None, None, 3), tf.float32)
    if len(generator.inputs) == 3:
        run = tf.function(
            lambda i, s, t: generator({"image": i, "style": s, "strength": t}, training=False),
            input_signature=[image, tf.TensorSpec((None, 2)), tf.TensorSpec((None, 1))],
        )
        trace = run.get_concrete_function()
        output = trace(tf.zeros((1, 16, 20, 3)), tf.constant([[1.0, 0.0]]), tf.ones((1, 1)))
    else:
        trace = tf.function(
            lambda i: generator(i, training=False), input_signature=[image]
        ).get_concrete_function()
        output = trace(tf.zeros((1, 16, 20, 3)))
    assert tuple(output.shape) == (1, 16, 20, 3)
