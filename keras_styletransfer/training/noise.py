"""`train(config, run_dir)`: data, model, callbacks, `fit`, resume and outputs for one run.

A run directory holds:
    config.json              the frozen TrainConfig
    samples/epoch_XXX.png    sample grids from fixed noise
    logs/                    TensorBoard: losses per epoch, sample images
    checkpoints/last.keras   the whole GAN after the last finished epoch (optimizers included)
    backup/                  ResumableBackup files: a killed run started again resumes here
    final.keras              the trained GAN, written when training ends
    history.json             the losses and metrics of every epoch this invocation trained
    quality.json             digit-classifier figures, when measured
"""

from __future__ import annotations

import dataclasses
import json
import os

import keras
import numpy as np

from keras_styletransfer import data as data_sources
from keras_styletransfer import distribute
from keras_styletransfer.config import TrainConfig, load_arrays, validate_config
from keras_styletransfer.errors import InputError
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.training.callbacks import (
    LatestModel,
    SampleGrid,
    StopOnNonFiniteLoss,
)


@dataclasses.dataclass
class TrainResult:
    """What a run produced: its folder, the Keras `History.history` and the files it wrote."""

    run_dir: str
    history: dict
    final_model: str
    samples: list
    initial_epoch: int
    quality: dict | None = None


def build_dataset(config, preset, batch_size, repeat):
    """The training `tf.data.Dataset` for a config: batches in [-1, 1] of the preset's shape."""
    options = dict(batch_size=batch_size, seed=config.seed, repeat=repeat)
    image_shape = preset.image_shape
    source = config.data
    if source == "offline":
        if preset.offline_data == "digits":
            images, _ = data_sources.load_offline_digits("train")
        else:
            images = data_sources.load_offline_photo_crops(size=image_shape[0], seed=config.seed)
        return data_sources.from_arrays(images, image_shape=image_shape, **options)
    if source.startswith("tfds:"):
        return data_sources.from_tfds(
            source[len("tfds:") :],
            image_shape,
            data_dir=config.tfds_data_dir or None,
            **options,
        )
    if os.path.isdir(source):
        return data_sources.from_image_folder(
            source, image_shape, convert_channels=config.convert_channels, **options
        )
    return data_sources.from_arrays(load_arrays(source), image_shape=image_shape, **options)


def build_gan(preset, seed):
    """A compiled GAN for a preset, with the preset's optimizer settings."""
    keras.utils.set_random_seed(seed)
    generator, discriminator = preset.build_models()
    gan = GAN(generator, discriminator, loss=preset.loss, seed=seed)

    def adam():
        return keras.optimizers.Adam(learning_rate=preset.learning_rate, beta_1=preset.beta_1)

    gan.compile(generator_optimizer=adam(), discriminator_optimizer=adam())
    return gan


def measure_digit_quality(generator, num_samples=1000, seed=1):
    """Score `num_samples` of G's samples, and real held-out digits as the reference."""
    from keras_styletransfer.metrics import score_digits, train_digit_classifier

    classifier, test_accuracy = train_digit_classifier()
    noise = np.random.default_rng(seed).standard_normal(
        (num_samples, generator.inputs[0].shape[-1])
    )
    generated = generator.predict(noise.astype(np.float32), batch_size=256, verbose=0)
    real, _ = data_sources.load_offline_digits("test")
    return {
        "classifier_test_accuracy": test_accuracy,
        "generated": dataclasses.asdict(score_digits(classifier, generated)),
        "real_test_digits": dataclasses.asdict(score_digits(classifier, real / 127.5 - 1.0)),
    }


def train(config: TrainConfig, run_dir, verbose=1):
    """Train the GAN a config describes, writing everything under `run_dir`.

    Started again on the same `run_dir` after an interruption, it resumes from the last finished
    epoch (weights, both optimizers, the noise stream and the epoch counter).

    The run uses `config.strategy` (models, optimizers and metrics are built under its scope, and
    `fit` splits each global batch of `batch_size` over the replicas) and `config.mixed_precision`
    (the global dtype policy is restored afterwards). With several workers only the chief writes
    `run_dir`; the others write to a temporary folder that is removed.

    Args:
        config: TrainConfig.
        run_dir: str. Output folder, created if needed.
        verbose: int. Keras progress bar mode. Defaults to 1.

    Returns:
        A `TrainResult`.
    """
    preset = validate_config(config)
    with distribute.mixed_precision(config.mixed_precision):
        strategy = distribute.get_strategy(config.strategy)
        return _train(config, run_dir, verbose, preset, strategy)


def _train(config, run_dir, verbose, preset, strategy):
    batch_size = config.batch_size or preset.batch_size
    distribute.check_global_batch_size(batch_size, strategy)
    steps_per_epoch = config.steps_per_epoch or preset.steps_per_epoch or None
    dataset = build_dataset(config, preset, batch_size, repeat=steps_per_epoch is not None)

    write_dir = distribute.worker_path(run_dir, strategy)  # run_dir itself on the chief
    os.makedirs(write_dir, exist_ok=True)
    config.save(write_dir)
    with strategy.scope():
        gan = build_gan(preset, config.seed)
        if distribute.num_replicas(strategy) > 1:
            distribute.synchronize_batch_norm(gan.generator)
            distribute.synchronize_batch_norm(gan.discriminator)
    paths = {
        "samples": os.path.join(write_dir, "samples"),
        "logs": os.path.join(write_dir, "logs"),
        "checkpoint": os.path.join(write_dir, "checkpoints", "last.keras"),
        "final": os.path.join(write_dir, "final.keras"),
    }
    os.makedirs(os.path.dirname(paths["checkpoint"]), exist_ok=True)
    # Every worker restores from the shared backup folder; only the chief writes to it.
    backup = distribute.ChiefBackup(os.path.join(run_dir, "backup"), strategy=strategy)
    sample_grid = SampleGrid(
        paths["samples"], every=config.samples_every, seed=config.seed, log_dir=paths["logs"]
    )
    callbacks = [
        StopOnNonFiniteLoss(),
        backup,
        LatestModel(paths["checkpoint"]),
        keras.callbacks.TensorBoard(paths["logs"]),
        sample_grid,
    ]
    history = gan.fit(
        dataset,
        epochs=config.epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        verbose=verbose,
    )
    gan.save(paths["final"])
    initial_epoch = backup.restored_epoch
    with open(os.path.join(write_dir, "history.json"), "w") as file:
        json.dump({"initial_epoch": initial_epoch, **history.history}, file, indent=2)
    quality = None
    if config.measure_quality:
        if preset.image_shape != (28, 28, 1):
            raise InputError(
                f"quality is measured with a digit classifier; preset {preset.name!r} does not "
                "make 28x28 digits."
            )
        quality = measure_digit_quality(gan.generator, seed=config.seed + 1)
        with open(os.path.join(write_dir, "quality.json"), "w") as file:
            json.dump(quality, file, indent=2)
    distribute.remove_worker_files(run_dir, strategy)
    return TrainResult(
        run_dir=run_dir,
        history=history.history,
        final_model=os.path.join(run_dir, "final.keras"),
        samples=[
            os.path.join(run_dir, "samples", os.path.basename(path)) for path in sample_grid.written
        ],
        initial_epoch=initial_epoch,
        quality=quality,
    )
