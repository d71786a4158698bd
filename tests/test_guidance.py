"""Explanation-guided training: xAI-GAN gradient guidance and the locality penalty."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.losses import (
    locality_penalty,
    saliency_mask,
    scale_gradient,
)
from keras_styletransfer.models.discriminators import MLPDiscriminator, PatchGANDiscriminator
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.generators import MLPGenerator, UNetGenerator
from keras_styletransfer.models.pix2pix import Pix2Pix
from tests.testing import keras_round_trip, weights_of


def _optimizers():
    return {
        "generator_optimizer": keras.optimizers.Adam(1e-3),
        "discriminator_optimizer": keras.optimizers.Adam(1e-3),
    }


def _pix2pix(l1_weight=1.0, **options):
    # Same seed before building: every call gives the same initial weights.
    keras.utils.set_random_seed(7)
    generator = UNetGenerator(num_downsamplings=2, filters=4, dropout=0.0)
    discriminator = PatchGANDiscriminator(num_layers=1, filters=4, conditional=True)
    model = Pix2Pix(generator, discriminator, l1_weight=l1_weight, seed=3, **options)
    model.compile(**_optimizers())
    return model


def _pairs(count=4, size=16):
    rng = np.random.default_rng(0)
    source = rng.uniform(-1, 1, (count, size, size, 3)).astype("float32")
    target = source.copy()
    target[:, 4:12, 4:12, :] = np.clip(source[:, 4:12, 4:12, :] + 0.8, -1, 1)
    return source, target


def test_scale_gradient_weight_zero_is_bit_identical_and_weight_scales_by_mask():
    images = tf.random.normal((2, 4, 4, 3))
    upstream = tf.random.normal((2, 4, 4, 3))
    mask = tf.random.uniform((2, 4, 4, 1))
    gradients = {}
    for weight in (0.0, 2.0):
        with tf.GradientTape() as tape:
            tape.watch(images)
            output = scale_gradient(images, mask, weight)
            loss = tf.reduce_sum(output * upstream)
        gradients[weight] = tape.gradient(loss, images).numpy()
        np.testing.assert_array_equal(output.numpy(), images.numpy())  # identity forward
    assert np.array_equal(gradients[0.0], upstream.numpy())
    np.testing.assert_allclose(
        gradients[2.0], upstream.numpy() * (1.0 + 2.0 * mask.numpy()), rtol=1e-6
    )


def test_saliency_mask_of_a_linear_discriminator_is_its_normalised_weights():
    # D(x) = sum(w * x): |dD/dx| = |w| everywhere, max over channels, divided by its maximum.
    weights = np.random.default_rng(1).normal(size=(6, 6, 3)).astype("float32")
    images = tf.random.normal((2, 6, 6, 3))

    def discriminate(x):
        return tf.reduce_sum(x * weights, axis=[1, 2, 3])[:, None]

    mask = saliency_mask(discriminate, images).numpy()
    expected = np.abs(weights).max(axis=-1) / np.abs(weights).max()
    assert mask.shape == (2, 6, 6, 1)
    for index in range(2):
        np.testing.assert_allclose(mask[index, ..., 0], expected, rtol=1e-6)


def test_locality_penalty_counts_only_edits_outside_the_mask_and_its_gradient_shrinks_them():
    source = tf.zeros((1, 4, 4, 1))
    output = tf.Variable(tf.fill((1, 4, 4, 1), 0.5))
    mask = np.zeros((1, 4, 4, 1), "float32")
    mask[:, :2] = 1.0  # top half is D's region
    with tf.GradientTape() as tape:
        penalty = locality_penalty(source, output, mask)
    np.testing.assert_allclose(penalty.numpy(), [0.5 * 0.5])  # half the pixels, each edit 0.5
    gradient = tape.gradient(penalty, output).numpy()
    assert np.all(gradient[:, :2] == 0)  # inside: free
    assert np.all(gradient[:, 2:] > 0)  # outside: descent lowers the edit (output > source)


def test_pix2pix_guidance_weight_zero_trains_bit_identically_and_weight_changes_the_update():
    source, target = _pairs()
    plain, zero, guided = (
        _pix2pix(),
        _pix2pix(explanation_guidance=0.0),
        _pix2pix(explanation_guidance=5.0),
    )
    for model in (plain, zero, guided):
        model.train_on_batch(source, target)
    plain_weights = {**weights_of(plain.generator), **weights_of(plain.discriminator)}
    zero_weights = {**weights_of(zero.generator), **weights_of(zero.discriminator)}
    assert plain_weights.keys() == zero_weights.keys()
    for key in plain_weights:
        assert np.array_equal(plain_weights[key], zero_weights[key]), key
    guided_weights = weights_of(guided.generator)
    changed = [k for k in guided_weights if not np.array_equal(guided_weights[k], plain_weights[k])]
    assert changed  # the guided gradient differs, so G's update differs


def test_gan_guidance_weight_zero_is_bit_identical_and_positive_weight_differs():
    data = np.random.default_rng(2).uniform(-1, 1, (8, 4, 4, 1)).astype("float32")

    def build(**options):
        keras.utils.set_random_seed(11)
        generator = MLPGenerator(latent_dim=4, hidden_units=(8,), image_shape=(4, 4, 1))
        discriminator = MLPDiscriminator(image_shape=(4, 4, 1), hidden_units=(8,))
        model = GAN(generator, discriminator, seed=5, **options)
        model.compile(**_optimizers())
        model.train_on_batch(data)
        return weights_of(model.generator)

    plain, zero, guided = build(), build(explanation_guidance=0.0), build(explanation_guidance=3.0)
    assert all(np.array_equal(plain[k], zero[k]) for k in plain)
    assert any(not np.array_equal(plain[k], guided[k]) for k in plain)


def test_guided_options_fit_track_locality_and_round_trip(tmp_path):
    source, target = _pairs(8)
    model = _pix2pix(explanation_guidance=2.0, locality_weight=1.0)
    history = model.fit(
        tf.data.Dataset.from_tensor_slices((source, target)).batch(4), epochs=1, verbose=0
    )
    assert np.isfinite(history.history["g_loss"][-1])
    assert history.history["locality_loss"][-1] > 0
    reloaded = keras_round_trip(model, tmp_path)
    assert reloaded.explanation_guidance == 2.0
    assert reloaded.locality_weight == 1.0
    assert "locality_loss" in [metric.name for metric in reloaded.metrics]
    with pytest.raises(ValueError, match="locality_weight"):
        _pix2pix(locality_weight=-1.0)


@pytest.mark.slow
def test_locality_penalty_reduces_edits_outside_the_explained_region():
    # Same data, seeds and 40 steps; only locality_weight differs; no L1 term, so nothing but
    # the penalty asks G to keep the photo. Measured after training: the mean edit |G(x) - x|
    # weighted by (1 - mask), mask = each model's own D saliency (the quantity penalised).
    # Measured: 0.449 without the penalty, 0.217 with weight 20.
    source, target = _pairs(8)
    dataset = tf.data.Dataset.from_tensor_slices((source, target)).batch(4)
    condition = tf.constant(source)
    outside = {}
    for weight in (0.0, 20.0):
        keras.utils.set_random_seed(7)
        model = Pix2Pix(
            UNetGenerator(num_downsamplings=2, filters=8, dropout=0.0),
            PatchGANDiscriminator(num_layers=1, filters=4, conditional=True),
            l1_weight=0.0,
            locality_weight=weight,
            seed=3,
        )
        model.compile(
            generator_optimizer=keras.optimizers.Adam(1e-2),
            discriminator_optimizer=keras.optimizers.Adam(1e-3),
        )
        model.fit(dataset, epochs=20, verbose=0)
        output = model.generator(condition, training=False)
        mask = saliency_mask(
            lambda images, model=model: model.discriminator([condition, images], training=False),
            output,
        )
        outside[weight] = float(tf.reduce_mean(locality_penalty(condition, output, mask)))
    assert outside[20.0] < 0.75 * outside[0.0], outside


def test_cyclegan_and_multistyle_options_train_and_report_locality():
    from keras_styletransfer.models.cyclegan import CycleGAN
    from keras_styletransfer.models.discriminators import GlobalPoolDiscriminator
    from keras_styletransfer.models.generators import ResnetGenerator, StyleGenerator
    from keras_styletransfer.models.multistyle import MultiStyleGAN

    images = np.random.default_rng(3).uniform(-1, 1, (2, 8, 8, 3)).astype("float32")
    keras.utils.set_random_seed(1)
    cyclegan = CycleGAN(
        *(ResnetGenerator(num_residual_blocks=1, filters=2, num_downsamplings=1) for _ in "ab"),
        *(PatchGANDiscriminator(num_layers=1, filters=2) for _ in "ab"),
        pool_size=0,
        explanation_guidance=1.0,
        locality_weight=1.0,
        seed=1,
    )
    cyclegan.compile(**_optimizers(), run_eagerly=True)  # one step: skip tracing
    logs = cyclegan.train_on_batch(images, images[::-1], return_dict=True)
    assert logs["locality_loss"] > 0 and np.isfinite(logs["g_loss"])
    assert cyclegan.get_config()["locality_weight"] == 1.0
    multistyle = MultiStyleGAN(
        StyleGenerator(num_styles=3, filters=2, num_residual_blocks=1, num_downsamplings=1),
        GlobalPoolDiscriminator(num_layers=1, filters=2, num_styles=3),
        style_names=["a", "b"],
        explanation_guidance=1.0,
        locality_weight=1.0,
        seed=1,
    )
    multistyle.compile(**_optimizers(), run_eagerly=True)
    logs = multistyle.train_on_batch((images, images[::-1], np.array([0, 1])), return_dict=True)
    assert logs["locality_loss"] > 0 and np.isfinite(logs["g_loss"])
    config = MultiStyleGAN.from_config(multistyle.get_config()).get_config()
    assert config["explanation_guidance"] == 1.0 and config["locality_weight"] == 1.0
