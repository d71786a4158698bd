"""Distribution: N replicas make the same update as one device, strategies by name, precision.

The equivalence tests train every adversarial family for two steps on one device and under
MirroredStrategy over the two logical CPU devices `conftest.py` sets up, on the same global batch
and seed, and compare every weight and every logged value. They use plain SGD: Adam's first steps
are nearly `lr * sign(gradient)` and would hide a gradient N times too large. The networks have
no dropout (each replica draws its own dropout mask for its slice: see the README); batch
normalisation is synchronised with `synchronize_batch_norm`.
"""


import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer import distribute
from keras_styletransfer.models import discriminators, generators
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.translation import CycleGAN, MultiStyleGAN, Pix2Pix
from tests.helpers import weights_of

ATOL = 1e-5


def two_device_strategy():
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices (set up in conftest before TF starts)")
    return distribute.get_strategy("mirrored", devices=[d.name for d in devices[:2]])


def sgd():
    return keras.optimizers.SGD(learning_rate=0.1)


def images(rng, count, size=16, channels=3):
    return rng.uniform(-1, 1, (count, size, size, channels)).astype("float32")


def build_gan():
    generator = generators.MNISTGenerator(
        latent_dim=8, hidden_units=16, image_size=16, batch_norm=True
    )
    discriminator = discriminators.MNISTDiscriminator(
        image_shape=(16, 16, 1), filters=(4, 8), dropout=0.0
    )
    return GAN(generator, discriminator, loss="wasserstein", seed=3)


def build_pix2pix():
    generator = generators.UNetGenerator(
        num_downsamplings=3, filters=4, max_filters=8, dropout=0.0, channels=3
    )
    discriminator = discriminators.PatchGANDiscriminator(
        num_layers=2, filters=4, conditional=True, norm="batch"
    )
    return Pix2Pix(generator, discriminator, l1_weight=10.0, seed=3)


def build_cyclegan():
    def generator(name):
        return generators.ResnetGenerator(
            num_residual_blocks=1, filters=4, num_downsamplings=1, name=name
        )

    def discriminator(name):
        return discriminators.PatchGANDiscriminator(num_layers=2, filters=4, name=name)

    # A pool of 2 and a global batch of 4: full after the first step, swapping in the second.
    return CycleGAN(
        generator("g_ab"),
        generator("g_ba"),
        discriminator("d_a"),
        discriminator("d_b"),
        pool_size=2,
        image_shape=(16, 16, 3),
        seed=3,
    )


def build_multistyle():
    generator = generators.StyleGenerator(
        num_styles=3, filters=4, num_residual_blocks=1, num_downsamplings=1
    )
    discriminator = discriminators.GlobalPoolDiscriminator(num_layers=2, filters=4, num_styles=3)
    return MultiStyleGAN(generator, discriminator, style_names=["a", "b"], seed=3)


def family_data(family):
    rng = np.random.default_rng(7)
    if family == "gan":
        return (images(rng, 8, channels=1),)
    if family == "multistyle":
        return images(rng, 8), images(rng, 8), rng.integers(0, 2, 8).astype("int32")
    return images(rng, 8), images(rng, 8)


BUILDERS = {
    "gan": build_gan,
    "pix2pix": build_pix2pix,
    "cyclegan": build_cyclegan,
    "multistyle": build_multistyle,
}


def train_two_steps(family, strategy):
    """Weights and logs after two steps on global batches of 4 (same seed, same data)."""
    keras.utils.set_random_seed(11)
    with strategy.scope():
        model = BUILDERS[family]()
        for network in (*model.generator_networks(), *model.discriminator_networks()):
            distribute.synchronize_batch_norm(network)
        model.compile(generator_optimizer=sgd(), discriminator_optimizer=sgd())
    dataset = tf.data.Dataset.from_tensor_slices(family_data(family)).batch(4)
    history = model.fit(dataset, epochs=1, verbose=0).history
    return weights_of(model), {key: values[-1] for key, values in history.items()}


@pytest.mark.slow
@pytest.mark.parametrize("family", sorted(BUILDERS))
def test_two_replicas_make_the_single_device_update(family):
    single_weights, single_logs = train_two_steps(family, distribute.get_strategy("default"))
    mirrored_weights, mirrored_logs = train_two_steps(family, two_device_strategy())
    assert single_weights.keys() == mirrored_weights.keys()
    changed = 0
    for key, value in single_weights.items():
        np.testing.assert_allclose(mirrored_weights[key], value, atol=ATOL, err_msg=key)
        changed += not np.array_equal(value, 0)
    assert changed > 0
    assert single_logs.keys() == mirrored_logs.keys()
    for key, value in single_logs.items():
        assert mirrored_logs[key] == pytest.approx(value, rel=1e-4, abs=ATOL), key
