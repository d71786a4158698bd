"""Robustness probes: perturbation curves, FGSM / PGD attacks, explanation stability."""

import os

import keras
import numpy as np
import pytest

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import render, robustness
from keras_styletransfer.explain.synthetic import (
    edited_region_set,
    small_discriminator,
    train_discriminator,
)
from keras_styletransfer.models.generators import EncoderDecoderGenerator


@pytest.fixture(scope="module")
def trained_discriminator():
    """A tiny global-pool D trained to call styled images real (A's synthetic benchmark)."""
    data = edited_region_set(count=48, size=16, region=8, seed=0)
    images, labels = data.training_data()
    discriminator = small_discriminator("global_pool", filters=4, num_layers=2, seed=0)
    accuracy = train_discriminator(discriminator, images, labels, epochs=6, batch_size=16)
    return discriminator, images, labels, accuracy


def _generator():
    keras.utils.set_random_seed(3)
    return EncoderDecoderGenerator(filters=(4, 8), channels=3)


def _images(count=4, size=16, seed=0):
    return np.random.default_rng(seed).uniform(-0.8, 0.8, (count, size, size, 3)).astype("float32")


def test_stability_curves_zero_at_identity_and_monotone_in_noise_and_jpeg(tmp_path):
    generator = _generator()
    images = _images()
    curves = {
        c.perturbation: c
        for c in robustness.stability_curves(
            images,
            generator=generator,
            discriminator=lambda x: np.mean(x, axis=(1, 2, 3))[:, None] * 10,
            sigmas=(0.0, 0.05, 0.2),
            blur_sizes=(1, 5),
            jpeg_qualities=(100, 10),
        )
    }
    noise = curves["gaussian_noise"]
    assert noise.output_change[0] == 0.0 and noise.verdict_change[0] == 0.0
    assert noise.output_psnr[0] == float("inf")
    assert noise.output_change[0] < noise.output_change[1] < noise.output_change[2]
    assert noise.output_psnr[1] > noise.output_psnr[2]
    assert curves["blur"].output_change[0] == 0.0 < curves["blur"].output_change[1]
    jpeg = curves["jpeg"]
    assert jpeg.input_change[0] < jpeg.input_change[1]  # quality 100 changes the input less
    assert jpeg.output_change[0] < jpeg.output_change[1]
    assert set(noise.to_dict()) >= {"values", "output_change", "verdict_flip_rate"}
    path = render.plot_robustness(str(tmp_path / "robustness.png"), list(curves.values()))
    assert os.path.getsize(path) > 1000


def test_generator_attacks_pgd_beats_fgsm_beats_random_noise():
    generator = _generator()
    result = robustness.attack_generator(generator, _images(), epsilon=0.03, steps=5)
    assert result.pgd_change >= result.fgsm_change > result.random_change > 0
    assert result.fgsm_amplification > 1.0
    assert result.to_dict()["target"] == "generator"


def test_attacks_stay_in_the_epsilon_ball_and_the_image_range():
    images = _images()

    def objective(x):
        import tensorflow as tf

        return tf.reduce_sum(x, axis=[1, 2, 3])

    for adversarial in (
        robustness.fgsm(objective, images, 0.1),
        robustness.pgd(objective, images, 0.1, steps=3),
    ):
        assert np.max(np.abs(adversarial - images)) <= 0.1 + 1e-6
        assert adversarial.min() >= -1 and adversarial.max() <= 1
    with pytest.raises(InputError, match="epsilon"):
        robustness.attack_generator(_generator(), images, epsilon=0)


@pytest.mark.slow
def test_pgd_flips_a_trained_discriminator_on_most_images(trained_discriminator, tmp_path):
    discriminator, images, _, accuracy = trained_discriminator
    assert accuracy >= 0.8  # the D being attacked actually works
    sample = images[::6]  # 16 images, both classes
    result = robustness.attack_discriminator(discriminator, sample, epsilon=0.1, steps=10)
    # Stated budget: epsilon 0.1 in [-1, 1] units (~13 of 255 grey levels).
    assert result.pgd_flip_rate >= 0.75
    assert result.pgd_flip_rate >= result.fgsm_flip_rate >= result.random_flip_rate
    assert result.pgd_change > result.random_change
    stability = robustness.explanation_stability(
        sample, discriminator=discriminator, values=(0.0, 0.01, 0.1)
    )
    assert stability.spearman[0] == 1.0 and stability.top_k_overlap[0] == 1.0
    assert stability.spearman[1] > stability.spearman[2]
    jpeg = robustness.explanation_stability(
        sample, discriminator=discriminator, perturbation="jpeg", values=(100, 10)
    )
    assert jpeg.spearman[0] > jpeg.spearman[1]
    path = render.plot_robustness(
        str(tmp_path / "attacks.png"), attacks=[result], explanation=stability
    )
    assert os.path.getsize(path) > 1000


def test_rank_measures_and_bad_inputs():
    first = np.arange(16.0).reshape(4, 4)
    assert robustness.spearman(first, first * 3 + 1) == pytest.approx(1.0)
    assert robustness.spearman(first, -first) == pytest.approx(-1.0)
    assert robustness.top_k_overlap(first, first, 0.25) == 1.0
    assert robustness.top_k_overlap(first, -first, 0.25) == 0.0
    with pytest.raises(InputError, match="odd"):
        robustness.blur(_images(), 4)
    with pytest.raises(InputError, match="quality"):
        robustness.jpeg(_images(), 0)
    with pytest.raises(InputError, match="gaussian_noise"):
        robustness.perturb(_images(), "rotate", 1)
