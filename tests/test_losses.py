"""Each loss against values computed by hand in NumPy, eagerly and inside tf.function."""

import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer import losses

REAL = np.array([[2.0], [-1.0], [0.5]], dtype=np.float32)
FAKE = np.array([[-3.0], [0.0], [1.5]], dtype=np.float32)


def softplus(x):
    return np.log1p(np.exp(x))


# name -> (expected G loss, expected D loss, expected real half, expected fake half), per example
EXPECTED = {
    "non_saturating": (
        -np.log(1 / (1 + np.exp(-FAKE))),
        -np.log(1 / (1 + np.exp(-REAL))) - np.log(1 - 1 / (1 + np.exp(-FAKE))),
        softplus(-REAL),
        softplus(FAKE),
    ),
    "minimax": (
        np.log(1 - 1 / (1 + np.exp(-FAKE))),
        softplus(-REAL) + softplus(FAKE),
        softplus(-REAL),
        softplus(FAKE),
    ),
    "least_squares": (
        0.5 * (FAKE - 1) ** 2,
        0.5 * (REAL - 1) ** 2 + 0.5 * FAKE**2,
        0.5 * (REAL - 1) ** 2,
        0.5 * FAKE**2,
    ),
    "wasserstein": (-FAKE, FAKE - REAL, -REAL, FAKE),
    "hinge": (
        -FAKE,
        np.maximum(0, 1 - REAL) + np.maximum(0, 1 + FAKE),
        np.maximum(0, 1 - REAL),
        np.maximum(0, 1 + FAKE),
    ),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("compiled", [False, True])
def test_adversarial_losses_match_hand_computed_values(name, compiled):
    pair = losses.get_adversarial_loss(name)
    g_expected, d_expected, real_expected, fake_expected = (e[:, 0] for e in EXPECTED[name])

    def run(function, *args):
        return (tf.function(function) if compiled else function)(*args).numpy()

    np.testing.assert_allclose(run(pair.generator, FAKE), g_expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(
        run(pair.discriminator, REAL, FAKE), d_expected, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(run(pair.real_half, REAL), real_expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(run(pair.fake_half, FAKE), fake_expected, rtol=1e-5, atol=1e-6)


def test_patch_maps_are_averaged_per_example():
    patch_logits = np.arange(2 * 3 * 3 * 1, dtype=np.float32).reshape(2, 3, 3, 1) / 10.0
    result = losses.least_squares_generator_loss(patch_logits).numpy()
    expected = (0.5 * (patch_logits - 1) ** 2).reshape(2, -1).mean(axis=1)
    assert result.shape == (2,)
    np.testing.assert_allclose(result, expected, rtol=1e-6)


def test_cross_entropy_is_stable_for_extreme_logits():
    huge = np.array([[80.0], [-80.0]], dtype=np.float32)
    values = losses.non_saturating_discriminator_loss(huge, -huge).numpy()
    assert np.all(np.isfinite(values))
    np.testing.assert_allclose(values, [0.0, 160.0], atol=1e-4)


def test_global_batch_reduction_divides_by_global_size():
    per_example = tf.constant([1.0, 2.0, 3.0, 6.0])
    assert float(losses.reduce_over_global_batch(per_example)) == pytest.approx(3.0)
    assert float(losses.reduce_over_global_batch(per_example, global_batch_size=8)) == (
        pytest.approx(1.5)
    )


class LinearCritic:
    """D(x) = sum(w * x): its input gradient is w everywhere, so penalties are known exactly."""

    def __init__(self, weights):
        self.weights = tf.constant(weights)

    def __call__(self, images, training=False):
        return tf.reduce_sum(images * self.weights, axis=[1, 2, 3])[:, None]


@pytest.mark.parametrize("compiled", [False, True])
def test_gradient_penalty_of_a_linear_critic(compiled):
    weights = np.full((1, 2, 2, 1), 0.25, dtype=np.float32)  # ||w|| = 0.5
    critic = LinearCritic(weights)
    real = np.random.default_rng(0).normal(size=(3, 2, 2, 1)).astype(np.float32)
    fake = np.random.default_rng(1).normal(size=(3, 2, 2, 1)).astype(np.float32)
    function = losses.gradient_penalty
    if compiled:
        function = tf.function(function)
    penalty = function(critic, real, fake, tf.constant([0.0, 0.3, 1.0])).numpy()
    np.testing.assert_allclose(penalty, [(0.5 - 1.0) ** 2] * 3, rtol=1e-5)


def test_gradient_penalty_interpolates_with_the_given_weights():
    seen = []

    def critic(images, training=False):
        seen.append(images)
        return tf.reduce_sum(images, axis=[1, 2, 3])[:, None]

    real = np.ones((2, 1, 1, 1), np.float32)
    fake = np.zeros((2, 1, 1, 1), np.float32)
    losses.gradient_penalty(critic, real, fake, tf.constant([0.25, 0.75]))
    np.testing.assert_allclose(seen[0].numpy().ravel(), [0.25, 0.75])


def test_gradient_penalty_has_finite_gradients_where_the_input_gradient_is_zero():
    # D(x) = scale * sum(0 * x): its input gradient is exactly zero, where d sqrt(u) / du is
    # infinite; a plain norm gives inf * 0 = NaN for d penalty / d scale (keras-io's WGAN-GP bug).
    scale = tf.Variable(2.0)

    def critic(images, training=False):
        return scale * tf.reduce_sum(0.0 * images, axis=[1, 2, 3])[:, None]

    real = np.ones((2, 2, 2, 1), np.float32)
    with tf.GradientTape() as tape:
        penalty = tf.reduce_mean(
            losses.gradient_penalty(critic, real, real * 0.0, tf.constant([0.5, 0.5]))
        )
    gradient = tape.gradient(penalty, scale)
    np.testing.assert_allclose(penalty.numpy(), 1.0, rtol=1e-5)
    assert gradient is not None
    assert np.isfinite(gradient.numpy())

    # The same computation with the naive norm is NaN: the test would catch a regression.
    with tf.GradientTape() as tape:
        interpolated = tf.constant(real * 0.5)
        with tf.GradientTape() as inner:
            inner.watch(interpolated)
            total = tf.reduce_sum(critic(interpolated))
        input_gradient = inner.gradient(total, interpolated)
        naive = tf.sqrt(tf.reduce_sum(tf.square(input_gradient), axis=[1, 2, 3]))
        naive_penalty = tf.reduce_mean(tf.square(naive - 1.0))
    assert np.isnan(tape.gradient(naive_penalty, scale).numpy())


def test_r1_penalty_of_a_linear_critic():
    weights = np.full((1, 2, 2, 1), 0.5, dtype=np.float32)  # ||w||^2 = 1
    real = np.random.default_rng(0).normal(size=(4, 2, 2, 1)).astype(np.float32)
    penalty = losses.r1_penalty(LinearCritic(weights), real).numpy()
    np.testing.assert_allclose(penalty, [0.5] * 4, rtol=1e-6)


def test_unknown_loss_lists_the_choices():
    with pytest.raises(ValueError, match=r"hinge.*least_squares.*minimax.*non_saturating"):
        losses.get_adversarial_loss("wgan")
