"""Control of a trained generator: strength, blends, unit knobs, SeFa and PCA directions."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import control
from keras_styletransfer.models.generators import EncoderDecoderGenerator, StyleGenerator


@pytest.fixture(scope="module")
def style_generator():
    keras.utils.set_random_seed(5)
    generator = StyleGenerator(
        num_styles=3, filters=4, num_residual_blocks=1, num_downsamplings=1, channels=3
    )
    # Freshly built, every style's normalisation parameters are equal (all styles alike); give
    # each style its own, as training would.
    rng = np.random.default_rng(5)
    for layer in generator.layers:
        if "norm" in layer.name:
            layer.set_weights([w + rng.normal(0, 0.5, w.shape) for w in layer.get_weights()])
    return generator


@pytest.fixture(scope="module")
def bottleneck_generator():
    keras.utils.set_random_seed(6)
    return EncoderDecoderGenerator(filters=(4, 8), channels=3, bottleneck_channels=6)


def _images(count=3, size=8, seed=0):
    return np.random.default_rng(seed).uniform(-0.9, 0.9, (count, size, size, 3)).astype("float32")


def test_strength_zero_is_the_photo_one_the_full_style_and_continuous(style_generator):
    images = _images()
    sweep = control.strength_sweep(style_generator, images, 1, strengths=(0.0, 0.37, 0.371, 1.0))
    assert sweep.shape == (4, *images.shape)
    assert np.array_equal(sweep[0], images)  # strength 0 returns the content image exactly
    styled = control.layer_activations(
        style_generator, control.style_inputs(images, [0, 1, 0], 1.0), "styled"
    )
    np.testing.assert_allclose(sweep[3], styled, atol=1e-6)  # strength 1 is the full style
    assert not np.allclose(sweep[3], images, atol=1e-3)
    # An unseen strength: a 0.001 step moves the output by a tiny amount (no jump).
    step = np.max(np.abs(sweep[2] - sweep[1]))
    assert 0 < step < 0.01


def test_blend_weights_select_a_single_style_and_are_validated(style_generator):
    images = _images()
    single = control.strength_sweep(style_generator, images, 0, strengths=(1.0,))[0]
    assert np.array_equal(control.blend(style_generator, images, (1.0, 0.0, 0.0)), single)
    # Weights are normalised: (2, 0, 0) is the same single style.
    assert np.array_equal(control.blend(style_generator, images, (2.0, 0.0, 0.0)), single)
    mixed = control.blend(style_generator, images, (0.5, 0.5, 0.0))
    assert not np.allclose(mixed, single)
    for bad, match in (((1.0, 0.0), "one entry per style"), ((-1, 1, 1), ">= 0"), ((0, 0, 0), "0")):
        with pytest.raises(InputError, match=match):
            control.blend(style_generator, images, bad)
    with pytest.raises(InputError, match="out of range"):
        control.strength_sweep(style_generator, images, 5)


def test_unit_knob_scale_one_unchanged_and_zero_equals_a_zeroed_channel(bottleneck_generator):
    model = bottleneck_generator
    images = _images(size=16)
    plain = np.asarray(model(images, training=False))
    assert np.array_equal(control.set_units(model, images, "encode1", [2], scale=1.0), plain)
    ablated = control.set_units(model, images, "encode1", [2], scale=0.0)
    assert not np.allclose(ablated, plain)
    # The same ablation done in the weights: a copy whose encode1 channel 2 is zero.
    copy = EncoderDecoderGenerator.from_config(model.get_config())
    copy.set_weights(model.get_weights())
    kernel, bias = copy.get_layer("encode1").get_weights()
    kernel[..., 2], bias[2] = 0.0, 0.0
    copy.get_layer("encode1").set_weights([kernel, bias])
    np.testing.assert_allclose(ablated, np.asarray(copy(images, training=False)), atol=1e-6)
    assert np.array_equal(np.asarray(model(images, training=False)), plain)  # hook removed
    with pytest.raises(InputError, match=r"0\.\.3"):
        control.set_units(model, images, "encode1", [4], scale=0.0)
    with pytest.raises(InputError, match="no layer"):
        control.set_units(model, images, "nope", [0], scale=0.0)


def test_sefa_directions_are_the_ordered_eigenvectors_of_the_next_kernel(bottleneck_generator):
    directions, eigenvalues = control.sefa_directions(bottleneck_generator, "bottleneck")
    kernel = bottleneck_generator.get_layer("unbottleneck").get_weights()[0]  # (3, 3, 6, 8)
    matrix = kernel.transpose(0, 1, 3, 2).reshape(-1, 6).astype("float64")
    values, vectors = np.linalg.eigh(matrix.T @ matrix)
    np.testing.assert_allclose(eigenvalues, values[::-1], rtol=1e-6)
    assert np.all(np.diff(eigenvalues) <= 0)
    np.testing.assert_allclose(directions @ directions.T, np.eye(6), atol=1e-5)
    for row, vector in zip(directions, vectors[:, ::-1].T, strict=True):
        assert abs(float(row @ vector)) == pytest.approx(1.0, abs=1e-5)  # same up to sign


def test_directions_slider_zero_exact_and_top_direction_beats_random(
    bottleneck_generator, tmp_path
):
    model = bottleneck_generator
    images = _images(4, size=16)
    plain = np.asarray(model(images, training=False))
    directions, _ = control.sefa_directions(model, "bottleneck")
    assert np.array_equal(
        control.apply_direction(model, images, "bottleneck", directions[0], 0.0), plain
    )

    def change(direction):
        moved = control.apply_direction(model, images, "bottleneck", direction, 1.0)
        return float(np.mean(np.abs(moved - plain)))

    rng = np.random.default_rng(0)
    randoms = [rng.normal(size=6) for _ in range(8)]
    random_changes = [change(r / np.linalg.norm(r)) for r in randoms]
    assert change(directions[0]) > np.mean(random_changes)
    assert change(directions[0]) > change(directions[-1])
    pca, ratio = control.pca_directions(model, images, "bottleneck")
    assert np.all(np.diff(ratio) <= 1e-12) and ratio.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(pca @ pca.T, np.eye(6), atol=1e-5)
    path = control.slider_strip(
        model,
        images[:2],
        "bottleneck",
        directions[0],
        (-2, 0, 2),
        str(tmp_path / "s.png"),
        images[:2],
    )
    assert os.path.getsize(path) > 1000
    with pytest.raises(InputError, match="6 entries"):
        control.apply_direction(model, images, "bottleneck", np.ones(3), 1.0)


def test_controls_take_a_multistyle_gan_and_style_names(style_generator):
    from keras_styletransfer.models.discriminators import GlobalPoolDiscriminator
    from keras_styletransfer.models.multistyle import MultiStyleGAN

    gan = MultiStyleGAN(
        style_generator,
        GlobalPoolDiscriminator(num_layers=1, filters=2, num_styles=3),
        style_names=["ink", "oil"],
    )
    images = _images(2)
    rendered = np.asarray(gan.render(tf.constant(images), np.array([1, 1]), 0.6))
    by_name = control.strength_sweep(gan, images, "oil", strengths=(0.6,))[0]
    np.testing.assert_allclose(by_name, rendered, atol=1e-6)
    np.testing.assert_allclose(control.blend(gan, images, {"oil": 1.0}, 0.6), rendered, atol=1e-6)
    with pytest.raises(InputError, match="ink"):
        control.blend(gan, images, {"watercolour": 1.0})
