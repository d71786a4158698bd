"""The GAN's reported metrics under MirroredStrategy over two logical CPU devices."""

import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.models.discriminators import MNISTDiscriminator
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.generators import MNISTGenerator


def two_device_strategy():
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices (set up in conftest before TF starts)")
    return tf.distribute.MirroredStrategy([d.name for d in devices[:2]])


def test_metrics_under_mirrored_strategy_are_global_not_one_replicas(digits_small):
    strategy = two_device_strategy()
    real = digits_small[0][:32].astype("float32") / 127.5 - 1.0
    with strategy.scope():
        gan = GAN(
            MNISTGenerator(latent_dim=8, hidden_units=16),
            MNISTDiscriminator(filters=(8, 16)),
            seed=0,
        )
        gan.compile()
    # Each replica sees half of every batch of 16; D(real) does not depend on the noise.
    results = gan.evaluate(real, batch_size=16, verbose=0, return_dict=True)
    logits = gan.discriminator(real, training=False).numpy().ravel()
    assert results["real_logits_mean"] == pytest.approx(float(logits.mean()), rel=1e-5)
    assert results["d_real_accuracy"] == pytest.approx(float((logits > 0).mean()))
    # The real half of D's loss is a mean over all 32 images, not a sum over replicas.
    expected = float(np.mean(np.log1p(np.exp(-logits))))
    assert results["d_real_loss"] == pytest.approx(expected, rel=1e-5)

    history = gan.fit(real, batch_size=16, epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert int(gan.generator_optimizer.iterations.numpy()) == 2
