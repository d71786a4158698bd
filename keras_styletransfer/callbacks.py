"""GAN-aware Keras callbacks: sample grids and a guard that stops on non-finite losses."""

from __future__ import annotations

import math
import os

import keras
import numpy as np
import tensorflow as tf

from keras_styletransfer.images import save_image_grid, tile_images, to_uint8


class NonFiniteLossError(RuntimeError):
    """Raised when a loss becomes NaN or infinite; the last good checkpoint is left untouched."""


class SampleGrid(keras.callbacks.Callback):
    """Write a grid of G's samples from *fixed* noise at the end of every `every`-th epoch.

    The same noise every epoch makes the grids comparable. Sampling runs G in inference mode and
    changes no weight. Files: `output_dir/epoch_001.png`, ...; with `log_dir`, the grid is also a
    TensorBoard image ("samples") under `log_dir/samples`.

    Args:
        output_dir: str. Folder for the PNG files.
        num_samples: int. Defaults to 64.
        every: int. Defaults to 1.
        seed: int. Seed of the fixed noise. Defaults to 0.
        log_dir: str. TensorBoard log folder. Defaults to None (PNG only).
    """

    def __init__(self, output_dir, num_samples=64, every=1, seed=0, log_dir=None):
        super().__init__()
        if num_samples < 1 or every < 1:
            raise ValueError(
                f"num_samples and every must be >= 1; received {num_samples} and {every}."
            )
        self.output_dir = output_dir
        self.num_samples = num_samples
        self.every = every
        self.seed = seed
        self.log_dir = log_dir
        self.noise = None
        self.written = []
        self._writer = None

    def on_train_begin(self, logs=None):
        latent_dim = self.model.latent_dim
        rng = np.random.default_rng(self.seed)
        self.noise = rng.standard_normal((self.num_samples, latent_dim)).astype(np.float32)
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "samples"))

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        images = self.model.generator.predict_on_batch(self.noise)
        path = os.path.join(self.output_dir, f"epoch_{epoch + 1:03d}.png")
        save_image_grid(images, path)
        self.written.append(path)
        if self._writer is not None:
            grid = tile_images(to_uint8(images))
            with self._writer.as_default():
                tf.summary.image("samples", grid[np.newaxis], step=epoch + 1)
            self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Abort training at the first batch whose reported losses are NaN or infinite.

    Keras' `TerminateOnNaN` watches `logs["loss"]`, which a GAN does not report, and lets the
    epoch end so that checkpoints would save the broken weights. This raises at once instead, so
    `ModelCheckpoint` and `BackupAndRestore` keep the last good state.

    Args:
        monitor: tuple of str. Log keys to watch. Defaults to every key ending in "loss".
    """

    def __init__(self, monitor=None):
        super().__init__()
        self.monitor = tuple(monitor) if monitor else None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            watched = key in self.monitor if self.monitor else key.endswith("loss")
            if watched and not math.isfinite(float(value)):
                raise NonFiniteLossError(
                    f"{key} became {float(value)} at epoch {self.epoch + 1}, batch {batch + 1}; "
                    "training stopped and the last checkpoint was kept. Lower the learning rate, "
                    "or check the data for NaN."
                )
