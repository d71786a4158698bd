"""Attribution callbacks inside the wrappers' `fit`: right sub-model, files, TensorBoard, logs."""

import os

import keras
import numpy as np
import pytest

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import attribution
from keras_styletransfer.explain.callbacks import (
    GradCAMCallback,
    SmoothGradCallback,
    concentration,
    rank_correlation,
)
from keras_styletransfer.explain.targets import build_target
from keras_styletransfer.models.cyclegan import CycleGAN
from keras_styletransfer.models.discriminators import (
    DCGANDiscriminator,
    GlobalPoolDiscriminator,
    PatchGANDiscriminator,
)
from keras_styletransfer.models.generators import (
    MLPGenerator,
    ResnetGenerator,
    StyleGenerator,
    UNetGenerator,
)
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix


def _images(count, seed=0, size=16):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, 3)).astype("float32")


def test_concentration_and_rank_correlation():
    flat = np.ones((2, 10, 10))
    peaked = np.zeros((2, 10, 10))
    peaked[:, 3, 4] = 5.0
    assert concentration(flat) == pytest.approx(0.1)
    assert concentration(peaked) == pytest.approx(1.0)
    maps = np.random.default_rng(0).normal(size=(3, 8, 8))
    assert rank_correlation(maps, maps) == pytest.approx(1.0)
    assert rank_correlation(maps, -maps) == pytest.approx(-1.0)


def test_callback_refuses_a_model_without_generator_and_discriminator():
    callback = GradCAMCallback(inputs=_images(2))
    callback.set_model(keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)]))
    with pytest.raises(InputError, match="generator and a discriminator"):
        callback.on_epoch_end(0, {})


@pytest.mark.slow
def test_grad_cam_callback_in_pix2pix_fit_explains_the_conditional_discriminator(tmp_path):
    model = Pix2Pix(
        UNetGenerator(num_downsamplings=2, filters=4, max_filters=8),
        PatchGANDiscriminator(num_layers=1, filters=4, conditional=True),
        seed=0,
    )
    model.compile()
    sources, targets = _images(4, 0), _images(4, 1)
    callback = GradCAMCallback(
        inputs=sources[:2], output_dir=str(tmp_path / "png"), log_dir=str(tmp_path / "logs")
    )
    stopper = keras.callbacks.EarlyStopping(monitor="explain_concentration", mode="max", patience=5)
    history = model.fit(
        sources, targets, batch_size=2, epochs=2, verbose=0, callbacks=[callback, stopper]
    )
    values = history.history["explain_concentration"]
    drifts = history.history["explain_drift"]
    print(f"\n[callbacks] pix2pix Grad-CAM concentration {values}, drift {drifts}")
    assert len(values) == 2 and all(0.1 - 1e-6 <= v <= 1.0 for v in values)
    assert drifts[0] == 0.0 and 0.0 <= drifts[1] <= 2.0
    assert [os.path.basename(p) for p in callback.written] == [
        "grad_cam_epoch_001.png",
        "grad_cam_epoch_002.png",
    ]
    assert all(os.path.getsize(p) > 0 for p in callback.written)
    events = os.listdir(tmp_path / "logs" / "grad_cam")
    assert any(name.startswith("events.out.tfevents") for name in events)
    # The maps are D's Grad-CAM of [x, G(x)] with the trained weights, not the wrapper's.
    generated = model.generator(sources[:2], training=False).numpy()
    target = build_target("realness", discriminator=model.discriminator, source=sources[:2])
    expected = attribution.grad_cam(target, generated, "conv2_lrelu")
    np.testing.assert_allclose(callback.previous_maps, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.slow
def test_smoothgrad_callback_in_cyclegan_fit_explains_d_b_on_g_of_a(tmp_path):
    model = CycleGAN(
        ResnetGenerator(num_residual_blocks=1, filters=4),
        ResnetGenerator(num_residual_blocks=1, filters=4),
        PatchGANDiscriminator(num_layers=1, filters=4),
        PatchGANDiscriminator(num_layers=1, filters=4),
        pool_size=0,
        image_shape=(16, 16, 3),
        seed=0,
    )
    model.compile()
    images_a, images_b = _images(2, 0), _images(2, 1)
    callback = SmoothGradCallback(inputs=images_a, output_dir=str(tmp_path), num_samples=4)
    history = model.fit(images_a, images_b, batch_size=2, epochs=1, verbose=0, callbacks=[callback])
    assert "explain_concentration" in history.history
    generated = model.generator_ab(images_a, training=False).numpy()
    target = build_target("realness", discriminator=model.discriminator_b)
    expected = attribution.explain("smoothgrad", target, generated, num_samples=4, seed=0)
    assert np.abs(callback.previous_maps).max() > 0
    np.testing.assert_allclose(callback.previous_maps, expected, rtol=1e-4, atol=1e-7)
    assert os.path.isfile(callback.written[0])


@pytest.mark.slow
def test_callbacks_in_multistyle_and_noise_gan_fit(tmp_path):
    from keras_styletransfer.models.gan import GAN

    model = MultiStyleGAN(
        StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1),
        GlobalPoolDiscriminator(num_layers=1, filters=4, num_styles=3),
        ["ink", "oil"],
        seed=0,
    )
    model.compile()
    content, styled = _images(2, 0), _images(2, 1)
    indices = np.array([0, 1], "int32")
    callback = GradCAMCallback(inputs=content, output_dir=str(tmp_path / "multi"), style="oil")
    history = model.fit(
        (content, styled, indices), batch_size=2, epochs=1, verbose=0, callbacks=[callback]
    )
    assert history.history["explain_concentration"][0] >= 0.1 - 1e-6
    assert os.path.isfile(callback.written[0])

    gan = GAN(
        MLPGenerator(latent_dim=8, hidden_units=(16,), image_shape=(16, 16, 1)),
        DCGANDiscriminator(image_shape=(16, 16, 1), filters=(4, 8)),
        seed=0,
    )
    gan.compile()
    real = np.random.default_rng(0).uniform(-1, 1, (4, 16, 16, 1)).astype("float32")
    noise_callback = SmoothGradCallback(
        output_dir=str(tmp_path / "gan"), num_samples=2, prefix="sg"
    )
    gan_history = gan.fit(real, batch_size=2, epochs=1, verbose=0, callbacks=[noise_callback])
    assert "sg_concentration" in gan_history.history
    assert noise_callback.inputs.shape == (4, 8)  # fixed seeded noise, explained as D(G(z))
    assert noise_callback.previous_maps.shape == (4, 16, 16)
