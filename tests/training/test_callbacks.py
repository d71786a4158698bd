"""Sample grids, the non-finite-loss guard, and the image helpers behind them."""

import os

import keras
import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.images import tile_images, to_uint8
from keras_styletransfer.models.discriminators import MNISTDiscriminator
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.models.generators import MNISTGenerator
from keras_styletransfer.training.callbacks import (
    NonFiniteLossError,
    SampleGrid,
    StopOnNonFiniteLoss,
)
from tests.testing import assert_weights_equal, weights_of


def tiny_gan():
    gan = GAN(MNISTGenerator(latent_dim=8, hidden_units=16), MNISTDiscriminator(filters=(8, 16)))
    gan.compile()
    return gan


def test_to_uint8_clips_instead_of_wrapping():
    values = np.array([-3.0, -1.0, 0.0, 1.0, 1.5])
    np.testing.assert_array_equal(to_uint8(values), [0, 0, 128, 255, 255])


def test_tile_images_places_each_image_row_by_row():
    images = np.stack([np.full((2, 3, 1), value, np.uint8) for value in (10, 20, 30)])
    grid = tile_images(images, columns=2, padding=1, pad_value=0)
    assert grid.shape == (5, 7, 1)
    assert grid[0, 0, 0] == 10 and grid[0, 4, 0] == 20 and grid[3, 0, 0] == 30
    assert grid[2, 0, 0] == 0  # padding row


def test_sample_grid_writes_a_png_and_a_tensorboard_image_per_epoch_from_fixed_noise(
    tmp_path, digits_small
):
    gan = tiny_gan()
    grid = SampleGrid(tmp_path / "samples", num_samples=16, log_dir=str(tmp_path / "logs"))
    real = digits_small[0][:16].astype("float32") / 127.5 - 1.0
    gan.fit(real, batch_size=8, epochs=2, verbose=0, callbacks=[grid])
    assert [os.path.basename(p) for p in grid.written] == ["epoch_001.png", "epoch_002.png"]
    picture = np.asarray(Image.open(grid.written[-1]))
    # 4x4 tiles of 28 px enlarged 3x with 2 px padding: legible, not a 28-px thumbnail.
    assert picture.shape == ((4 * 30 - 2) * 3, (4 * 30 - 2) * 3)
    expected = tile_images(to_uint8(gan.generator.predict_on_batch(grid.noise)))
    np.testing.assert_array_equal(picture[::3, ::3], expected[..., 0])
    events = [n for _, _, names in os.walk(tmp_path / "logs" / "samples") for n in names]
    assert events and events[0].startswith("events.out.tfevents")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    accumulator = EventAccumulator(str(tmp_path / "logs" / "samples"))
    accumulator.Reload()
    steps = [event.step for event in accumulator.Tensors("samples")]
    assert steps == [1, 2]


def test_sample_grid_changes_no_weight(tmp_path):
    gan = tiny_gan()
    grid = SampleGrid(tmp_path, num_samples=4)
    grid.set_model(gan)
    grid.on_train_begin()
    before = weights_of(gan, skip_seed_states=False)
    grid.on_epoch_end(0)
    assert_weights_equal(before, weights_of(gan, skip_seed_states=False))


def test_non_finite_loss_stops_at_once_and_keeps_the_last_good_checkpoint(tmp_path, digits_small):
    gan = tiny_gan()
    real = digits_small[0][:16].astype("float32") / 127.5 - 1.0
    checkpoint = tmp_path / "last.keras"
    callbacks = [StopOnNonFiniteLoss(), keras.callbacks.ModelCheckpoint(str(checkpoint))]
    gan.fit(real, batch_size=8, epochs=1, verbose=0, callbacks=callbacks)
    saved_before = checkpoint.read_bytes()
    poisoned = real.copy()
    poisoned[3, 5, 5, 0] = np.nan
    with pytest.raises(NonFiniteLossError, match="epoch 1, batch 1"):
        gan.fit(poisoned, batch_size=8, epochs=1, verbose=0, callbacks=callbacks, shuffle=False)
    assert checkpoint.read_bytes() == saved_before
    reloaded = keras.saving.load_model(str(checkpoint))
    assert all(np.all(np.isfinite(v.numpy())) for v in reloaded.trainable_variables)


def test_sample_grid_rejects_bad_settings(tmp_path):
    with pytest.raises(ValueError, match="num_samples and every"):
        SampleGrid(tmp_path, num_samples=0)
