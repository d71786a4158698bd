"""`train(config, run_dir)`: a noise GAN from a preset, through the run skeleton (`training.run`).

Besides the skeleton's files (config.json, logs/, checkpoints/last.keras, final.keras,
generator.keras, history.json, exported/PRESET/1/ with the noise signatures), a run writes:
    samples/epoch_XXX.png    sample grids from fixed noise (also TensorBoard images)
    quality.json             digit-classifier figures, when measured
"""

from __future__ import annotations

import dataclasses
import os

import keras

from keras_styletransfer import data as data_sources
from keras_styletransfer.config import TrainConfig
from keras_styletransfer.files import write_json
from keras_styletransfer.models.gan import GAN
from keras_styletransfer.seeding import seeded
from keras_styletransfer.training.callbacks import SampleGrid
from keras_styletransfer.training.checks import validate_config
from keras_styletransfer.training.run import Recipe, run


@dataclasses.dataclass
class TrainResult:
    """What a run produced: its folder, the Keras `History.history` and the files it wrote."""

    run_dir: str
    history: dict
    final_model: str
    samples: list
    initial_epoch: int
    quality: dict | None = None
    model: keras.Model | None = None
    export_path: str | None = None


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
    return data_sources.from_arrays(
        data_sources.load_arrays(source), image_shape=image_shape, **options
    )


def build_gan(preset, seed):
    """A compiled GAN for a preset, with the preset's optimizer settings; weights from `seed`."""
    with seeded(seed):
        generator, discriminator = preset.build_models()
        gan = GAN(generator, discriminator, loss=preset.loss, seed=seed)

    def adam():
        return keras.optimizers.Adam(learning_rate=preset.learning_rate, beta_1=preset.beta_1)

    gan.compile(generator_optimizer=adam(), discriminator_optimizer=adam())
    return gan


class NoiseRecipe(Recipe):
    """A noise GAN from a preset: the preset's data, model, optimizers; sample grids; quality."""

    def __init__(self, config):
        self.config = config
        self.preset = validate_config(config)
        self.batch_size = config.batch_size or self.preset.batch_size
        self.steps_per_epoch = config.steps_per_epoch or self.preset.steps_per_epoch or None
        self.export_name = self.preset.name
        self.sample_grid = None

    def dataset(self):
        repeat = self.steps_per_epoch is not None
        return build_dataset(self.config, self.preset, self.batch_size, repeat=repeat)

    def build_model(self):
        return build_gan(self.preset, self.config.seed)

    def callbacks(self, run_dir):
        self.sample_grid = SampleGrid(
            os.path.join(run_dir, "samples"),
            every=self.config.samples_every,
            seed=self.config.seed,
            log_dir=os.path.join(run_dir, "logs"),
        )
        return [self.sample_grid]

    def outputs(self, model, history, run_dir, seconds):
        if not self.config.measure_quality:
            return {"quality": None}
        from keras_styletransfer.evaluation import measure_digit_quality

        quality = measure_digit_quality(model.primary_generator(), seed=self.config.seed + 1)
        write_json(os.path.join(run_dir, "quality.json"), quality)
        return {"quality": quality}


def train(config: TrainConfig, run_dir, verbose=1):
    """Train the GAN a config describes, writing everything under `run_dir`.

    The run skeleton (`training.run.run`) resumes an interrupted run from its last finished
    epoch (weights, both optimizers, the noise stream and the epoch counter), applies
    `config.strategy` (`batch_size` is the global batch) and `config.mixed_precision`, and
    lets only the chief of several workers write `run_dir`.

    Returns:
        A `TrainResult` (`model` is the trained GAN).
    """
    recipe = NoiseRecipe(config)
    result = run(recipe, run_dir, verbose=verbose)
    run_dir = result.run_dir
    return TrainResult(
        run_dir=run_dir,
        history=result.history,
        final_model=os.path.join(run_dir, "final.keras"),
        samples=[
            os.path.join(run_dir, "samples", os.path.basename(path))
            for path in recipe.sample_grid.written
        ],
        initial_epoch=result.initial_epoch,
        quality=result.outputs["quality"],
        model=result.model,
        export_path=result.export_path,
    )
