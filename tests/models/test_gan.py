"""The GAN wrapper: the documents' training-loop defects, each with a test that catches it."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.data import from_arrays
from keras_styletransfer.models.discriminators import MNISTDiscriminator
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.generators import DCGANGenerator, MNISTGenerator
from keras_styletransfer.training.callbacks import ResumableBackup
from tests.testing import assert_weights_equal, changed_paths, keras_round_trip, weights_of


def tiny_generator():
    return MNISTGenerator(latent_dim=8, hidden_units=16)


def tiny_discriminator(**kwargs):
    return MNISTDiscriminator(filters=(8, 16), **kwargs)


def batchnorm_discriminator():
    """A discriminator with batch-norm statistics, to check they do not move in G's step."""
    images = keras.Input((28, 28, 1))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(images)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.LeakyReLU(0.2)(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Flatten()(x)
    return keras.Model(images, keras.layers.Dense(1)(x))


def make_gan(discriminator=None, **kwargs):
    gan = GAN(tiny_generator(), discriminator or tiny_discriminator(), seed=3, **kwargs)
    gan.compile()
    return gan


def real_batch(digits_small, size=16):
    return tf.constant(digits_small[0][:size].astype("float32") / 127.5 - 1.0)


def test_generator_step_leaves_every_weight_of_d_unchanged(digits_small):
    gan = make_gan(batchnorm_discriminator())
    real = real_batch(digits_small)
    gan.discriminator_step(real)  # D's statistics now differ from their initial values
    d_before, g_before = weights_of(gan.discriminator), weights_of(gan.generator)
    tf.function(gan.generator_step)(tf.constant(16))
    assert_weights_equal(d_before, weights_of(gan.discriminator))
    assert changed_paths(g_before, weights_of(gan.generator))  # G did learn


def test_discriminator_step_leaves_the_generators_weights_unchanged(digits_small):
    gan = make_gan()
    g_before, d_before = weights_of(gan.generator), weights_of(gan.discriminator)
    tf.function(gan.discriminator_step)(real_batch(digits_small))
    assert_weights_equal(g_before, weights_of(gan.generator))
    assert changed_paths(d_before, weights_of(gan.discriminator))


def test_sampling_judging_and_evaluating_change_no_weight(digits_small):
    gan = make_gan(batchnorm_discriminator())
    gan.fit(real_batch(digits_small), batch_size=8, epochs=1, verbose=0)
    before = weights_of(gan)
    noise = np.random.default_rng(0).normal(size=(8, 8)).astype("float32")
    gan(noise)
    gan.generator.predict(noise, verbose=0)
    gan.discriminator.predict(real_batch(digits_small), verbose=0)
    gan.evaluate(real_batch(digits_small), batch_size=8, verbose=0)
    assert_weights_equal(before, weights_of(gan))


def test_fit_feeds_generated_images_not_d_of_g_to_the_discriminator(digits_small):
    seen_shapes = []

    class Recording(keras.Model):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def call(self, images, training=False):
            seen_shapes.append(tuple(images.shape[1:]))
            return self.inner(images, training=training)

    recording = Recording(tiny_discriminator())
    recording(np.zeros((1, 28, 28, 1), "float32"))
    gan = GAN(tiny_generator(), recording, latent_dim=8, seed=0)
    gan.compile()
    gan.fit(real_batch(digits_small), batch_size=8, epochs=1, verbose=0)
    assert seen_shapes and set(seen_shapes) == {(28, 28, 1)}


def test_logged_d_loss_is_the_sum_of_both_halves(digits_small):
    gan = make_gan()
    history = gan.fit(real_batch(digits_small, 32), batch_size=8, epochs=2, verbose=0).history
    expected_keys = {
        "g_loss",
        "d_loss",
        "d_real_loss",
        "d_fake_loss",
        "d_real_accuracy",
        "d_fake_accuracy",
        "real_logits_mean",
        "fake_logits_mean",
        "g_diversity",
    }
    assert expected_keys == set(history)
    for epoch in range(2):
        total = history["d_real_loss"][epoch] + history["d_fake_loss"][epoch]
        assert history["d_loss"][epoch] == pytest.approx(total, rel=1e-5)
        assert history["d_fake_loss"][epoch] > 0.0 and history["d_real_loss"][epoch] > 0.0


def test_trackers_are_reset_every_epoch(digits_small):
    gan = make_gan()
    gan.fit(real_batch(digits_small, 32), batch_size=8, epochs=3, verbose=0)
    # Trackers average per example: one epoch is 32 examples; without the reset it would be 96.
    assert float(gan.trackers["g_loss"].count.numpy()) == 32


def test_accuracy_and_mean_logits_are_what_d_says(digits_small):
    gan = make_gan()
    real = real_batch(digits_small)
    results = gan.evaluate(real, batch_size=16, verbose=0, return_dict=True)
    real_logits = gan.discriminator(real, training=False).numpy().ravel()
    assert results["real_logits_mean"] == pytest.approx(real_logits.mean(), rel=1e-5)
    assert results["d_real_accuracy"] == pytest.approx((real_logits > 0).mean())


def test_n_critic_discriminator_updates_per_generator_update(digits_small):
    gan = make_gan(n_critic=3)
    gan.fit(real_batch(digits_small), batch_size=8, epochs=1, verbose=0)
    assert int(gan.generator_optimizer.iterations.numpy()) == 2
    assert int(gan.discriminator_optimizer.iterations.numpy()) == 6


def test_every_step_draws_fresh_noise(digits_small):
    gan = make_gan()
    first = gan.sample_noise(4).numpy()
    second = gan.sample_noise(4).numpy()
    assert not np.allclose(first, second)
    state_before = gan.seed_generator.state.numpy().copy()
    gan.fit(real_batch(digits_small), batch_size=8, epochs=1, verbose=0)
    assert not np.array_equal(state_before, gan.seed_generator.state.numpy())


@pytest.mark.parametrize(
    ("loss", "extra"),
    [
        ("minimax", {}),
        ("least_squares", {}),
        ("wasserstein", {"n_critic": 2}),
        ("hinge", {}),
        ("non_saturating", {"r1_weight": 1.0}),
    ],
)
def test_every_loss_trains_with_finite_values(digits_small, loss, extra):
    gan = make_gan(loss=loss, **extra)
    before = weights_of(gan.generator)
    history = gan.fit(real_batch(digits_small), batch_size=8, epochs=1, verbose=0).history
    assert all(np.isfinite(values[-1]) for values in history.values())
    assert changed_paths(before, weights_of(gan.generator))
    if loss == "wasserstein":
        assert history["gradient_penalty"][-1] >= 0.0
    if "r1_weight" in extra:
        assert history["r1_penalty"][-1] > 0.0


def test_keras_round_trip_reproduces_samples_and_resumes_training(digits_small, tmp_path):
    gan = make_gan()
    real = real_batch(digits_small)
    gan.fit(real, batch_size=8, epochs=1, verbose=0)
    reloaded = keras_round_trip(gan, tmp_path)
    assert type(reloaded) is GAN and reloaded.loss_name == gan.loss_name
    noise = np.random.default_rng(5).normal(size=(4, 8)).astype("float32")
    np.testing.assert_array_equal(np.asarray(gan(noise)), np.asarray(reloaded(noise)))
    # Optimizer state and noise stream come back too, so both continue identically.
    assert int(reloaded.generator_optimizer.iterations.numpy()) == 2
    np.testing.assert_array_equal(
        gan.seed_generator.state.numpy(), reloaded.seed_generator.state.numpy()
    )
    gan.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
    reloaded.fit(real, batch_size=8, epochs=1, verbose=0, shuffle=False)
    assert int(reloaded.generator_optimizer.iterations.numpy()) == 4
    np.testing.assert_allclose(np.asarray(gan(noise)), np.asarray(reloaded(noise)), atol=1e-6)


def test_standard_keras_callbacks_work_unchanged(digits_small, tmp_path):
    gan = make_gan()
    data = from_arrays(digits_small[0][:32], batch_size=8, seed=0)
    checkpoint = os.path.join(tmp_path, "ckpt.keras")
    history = gan.fit(
        data,
        epochs=20,
        verbose=0,
        callbacks=[
            keras.callbacks.ModelCheckpoint(checkpoint),
            keras.callbacks.TensorBoard(os.path.join(tmp_path, "logs")),
            keras.callbacks.BackupAndRestore(os.path.join(tmp_path, "backup")),
            keras.callbacks.EarlyStopping(
                monitor="d_real_accuracy", mode="max", patience=0, baseline=1.01
            ),
        ],
    )
    # Keras stops at the first epoch after the first one that misses the baseline: 2 of 20.
    assert len(history.history["g_loss"]) == 2
    assert isinstance(keras.saving.load_model(checkpoint), GAN)
    event_files = [name for _, _, names in os.walk(tmp_path / "logs") for name in names]
    assert any(name.startswith("events.out.tfevents") for name in event_files)


def test_backup_and_restore_resumes_to_identical_weights(digits_small, tmp_path):
    data = real_batch(digits_small, 32)

    def run(backup_dir, interrupt_at=None):
        keras.utils.set_random_seed(0)
        gan = make_gan(batchnorm_discriminator())

        class Interrupt(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                if epoch == interrupt_at:
                    raise KeyboardInterrupt

        callbacks = [keras.callbacks.BackupAndRestore(backup_dir), Interrupt()]
        try:
            gan.fit(data, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=callbacks)
        except KeyboardInterrupt:
            return None
        return gan

    straight = run(os.path.join(tmp_path, "a"))
    assert run(os.path.join(tmp_path, "b"), interrupt_at=2) is None
    resumed = run(os.path.join(tmp_path, "b"))  # a fresh model, restored from the backup
    assert int(resumed.generator_optimizer.iterations.numpy()) == 12
    assert_weights_equal(
        weights_of(straight, skip_seed_states=False), weights_of(resumed, skip_seed_states=False)
    )


def run_with_resumable_backup(data, backup_dir, interrupt_at=None, epochs=3):
    """Train a fresh tiny GAN with ResumableBackup; None when interrupted at `interrupt_at`."""
    keras.utils.set_random_seed(0)
    gan = make_gan(batchnorm_discriminator())

    class Interrupt(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == interrupt_at:
                raise KeyboardInterrupt

    backup = ResumableBackup(backup_dir)
    try:
        gan.fit(
            data,
            batch_size=8,
            epochs=epochs,
            shuffle=False,
            verbose=0,
            callbacks=[backup, Interrupt()],
        )
    except KeyboardInterrupt:
        return None, backup
    return gan, backup


def test_resumable_backup_resumes_to_identical_weights_and_cleans_up(digits_small, tmp_path):
    data = real_batch(digits_small, 32)
    straight, _ = run_with_resumable_backup(data, os.path.join(tmp_path, "a"))
    backup_dir = os.path.join(tmp_path, "b")
    interrupted, backup = run_with_resumable_backup(data, backup_dir, interrupt_at=2)
    assert interrupted is None
    assert [epoch for epoch, _ in backup.backups()] == [2, 1]
    resumed, backup = run_with_resumable_backup(data, backup_dir)
    assert backup.restored_epoch == 2
    assert int(resumed.generator_optimizer.iterations.numpy()) == 12
    assert_weights_equal(
        weights_of(straight, skip_seed_states=False), weights_of(resumed, skip_seed_states=False)
    )
    assert not os.path.exists(backup_dir)  # a finished run removes its backups


def test_a_backup_cut_off_while_written_falls_back_to_the_one_before(digits_small, tmp_path):
    """A kill during the write leaves a partial file: it must never be what resumes."""
    data = real_batch(digits_small, 32)
    backup_dir = os.path.join(tmp_path, "b")
    _, backup = run_with_resumable_backup(data, backup_dir, interrupt_at=2)
    (_, newest), _ = backup.backups()
    # What a kill mid-write leaves behind: a half-written temporary file (ignored and removed),
    # and, to test the fallback too, a newest backup truncated as if the disk had failed.
    with open(os.path.join(backup_dir, ".tmp-999.weights.h5"), "wb") as file:
        file.write(b"\x89HDF\r\n")
    with open(newest, "rb") as file:
        head = file.read(2000)
    with open(newest, "wb") as file:
        file.write(head)
    straight, _ = run_with_resumable_backup(data, os.path.join(tmp_path, "a"))
    resumed, backup = run_with_resumable_backup(data, backup_dir)
    assert backup.restored_epoch == 1
    assert [path for path, _ in backup.skipped] == [newest]
    assert int(resumed.generator_optimizer.iterations.numpy()) == 12
    assert_weights_equal(
        weights_of(straight, skip_seed_states=False), weights_of(resumed, skip_seed_states=False)
    )


def test_unreadable_backups_are_a_clear_error_and_are_not_deleted(digits_small, tmp_path):
    data = real_batch(digits_small, 32)
    backup_dir = os.path.join(tmp_path, "b")
    _, backup = run_with_resumable_backup(data, backup_dir, interrupt_at=1)
    ((_, only),) = backup.backups()
    with open(only, "wb") as file:
        file.write(b"garbage")
    with pytest.raises(OSError, match=r"none of the backups .* can be read.*Move the folder"):
        run_with_resumable_backup(data, backup_dir)
    assert os.path.exists(only)


def test_mismatched_generator_and_discriminator_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\(64, 64, 3\).*\(28, 28, 1\)"):
        GAN(DCGANGenerator(), MNISTDiscriminator())


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"loss": "wgan"}, "Unknown adversarial loss"),
        ({"n_critic": 0}, "n_critic"),
        ({"r1_weight": -1.0}, "r1_weight.*>= 0; received -1.0"),
    ],
)
def test_bad_gan_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GAN(tiny_generator(), tiny_discriminator(), **kwargs)


def test_compile_refuses_a_single_optimizer_or_a_loss():
    gan = GAN(tiny_generator(), tiny_discriminator())
    with pytest.raises(ValueError, match="generator_optimizer"):
        gan.compile(optimizer="adam")
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="two different optimizer"):
        gan.compile(generator_optimizer=shared, discriminator_optimizer=shared)


def test_diversity_is_near_zero_for_a_collapsed_generator_and_positive_otherwise():
    from keras_styletransfer.losses import diversity_ratio, mode_seeking_loss

    noise = tf.random.normal((6, 8))
    collapsed = tf.ones((6, 4, 4, 1))
    varied = tf.reshape(tf.tile(noise, [1, 2]), (6, 4, 4, 1))
    assert np.allclose(diversity_ratio(collapsed, noise).numpy(), 0.0)
    np.testing.assert_allclose(diversity_ratio(varied, noise).numpy(), 1.0, rtol=1e-5)
    penalty = mode_seeking_loss(varied[:5], noise[:5]).numpy()
    assert penalty.shape == (5,) and penalty[4] == 0.0  # the odd one out has no pair
    np.testing.assert_allclose(penalty[:4], 1.0 / (1.0 + 1e-5), rtol=1e-4)


def test_diversity_weight_changes_only_the_generator_update(digits_small):
    real = real_batch(digits_small)
    results = {}
    for weight in (0.0, 5.0):
        keras.utils.set_random_seed(0)
        gan = make_gan(diversity_weight=weight)
        tf.function(gan.discriminator_step)(real)
        d_after = weights_of(gan.discriminator)
        tf.function(gan.generator_step)(tf.constant(16))
        results[weight] = (d_after, weights_of(gan.generator))
    assert_weights_equal(results[0.0][0], results[5.0][0])
    assert changed_paths(results[0.0][1], results[5.0][1])


def test_diff_augment_moves_pixels_keeps_gradients_and_is_off_at_evaluation():
    from keras_styletransfer.augment import diff_augment, random_cutout, random_translation

    seed = keras.random.SeedGenerator(0)
    images = tf.random.uniform((4, 16, 16, 1), -1.0, 1.0)
    shifted = random_translation(images, 0.125, seed).numpy()
    assert shifted.shape == images.shape and not np.allclose(shifted, images.numpy())
    cut = random_cutout(images, 0.5, seed).numpy()
    filled = np.isclose(cut, 0.0).reshape(4, -1).mean(axis=1)
    assert np.all(filled >= 0.05) and np.all(filled <= 0.26)
    with tf.GradientTape() as tape:
        tape.watch(images)
        total = tf.reduce_sum(diff_augment(images, ("translation", "cutout"), seed))
    assert float(tf.reduce_sum(tf.abs(tape.gradient(total, images)))) > 0
    with pytest.raises(ValueError, match="translation, cutout"):
        GAN(tiny_generator(), tiny_discriminator(), augment="color")


def test_augmented_gan_trains_and_round_trips(digits_small, tmp_path):
    gan = make_gan(augment="translation,cutout", diversity_weight=1.0)
    history = gan.fit(real_batch(digits_small), batch_size=8, epochs=1, verbose=0).history
    assert np.isfinite(history["g_loss"][-1])
    reloaded = keras_round_trip(gan, tmp_path)
    assert reloaded.augment == ("translation", "cutout") and reloaded.diversity_weight == 1.0
