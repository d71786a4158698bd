"""`train_translation(config, run_dir)`: an image-to-image model, through the run skeleton.

Besides the skeleton's files (config.json, logs/, checkpoints/last.keras, final.keras,
generator.keras, history.json, exported/NAME/1/ with NAME = family_styles), a run writes:
    previews/epoch_XXX.png  held-out photos | output | ground truth, after each epoch
    results.png             held-out photos at 512 px in every style beside the exact style
                            (offline data; multi-style: a strength strip and a blend), each
                            output also in results/; with the user's data, the preview grid
    patch_map.png           what the discriminator calls real or fake, per patch (pix2pix, CycleGAN)
    explanations/           report.png / report.html: attributions of D's verdict on a few outputs
                            (saliency, SmoothGrad, integrated gradients, Grad-CAM), D's patch map
                            and the edit explanation from the photo to its stylisation
    loss_curves.png         every loss per epoch
    metrics.json            SSIM / PSNR of the outputs and of the unchanged photos against the
                            exact stylisations of held-out photos, per style and per view
                            (crops, whole photo at 256 px, full size), with the images where
                            the model beats the photo, checkerboard energy and colour offset

With `data="restoration"` the styles are restoration tasks (`data.restoration`: degraded
offline photos -> clean ones, multistyle_paired family) and the run writes
`training.restoration`'s previews, results and metrics (against the classical baselines).

The architecture comes from the family's translation preset
(`models.presets.get_translation_preset`); the run compiles it (Adam, beta_1 0.5; CycleGAN with
the linear decay over the second half of training).
"""

from __future__ import annotations

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from keras_styletransfer.config import UNPAIRED_FAMILIES
from keras_styletransfer.errors import InputError
from keras_styletransfer.evaluation import evaluate_on_held_out
from keras_styletransfer.files import write_json
from keras_styletransfer.images import to_model_range_tf, to_uint8
from keras_styletransfer.models.presets import get_translation_preset
from keras_styletransfer.optimizers import LinearDecayAfter
from keras_styletransfer.training import outputs as pictures
from keras_styletransfer.training import restoration
from keras_styletransfer.training.checks import RESTORATION_DATA, validate_translation_config
from keras_styletransfer.training.run import Recipe, run


@dataclasses.dataclass
class TranslationResult:
    run_dir: str
    model: keras.Model
    history: dict
    metrics: dict
    initial_epoch: int
    seconds: float
    export_path: str | None = None


def _flip_together(seeds, *images):
    """One random left-right flip applied to every image of a pair (paired jitter), drawn by a
    stateless op from `seeds` (2,)."""
    flip = tf.random.stateless_uniform((), seed=seeds) > 0.5
    return tuple(
        tf.cond(flip, lambda i=i: tf.image.flip_left_right(i), lambda i=i: i) for i in images
    )


def build_dataset(config, data):
    """The training `tf.data.Dataset` of one family on the offline set: batched, repeated,
    prefetched; shuffles and flips drawn from `config.seed`.

    The stream is a function of the seed alone, batch after batch (seeded shuffles, and each
    example's flip drawn by a stateless op from a seed stream zipped beside it, not by a
    stateful op inside a parallel map, whose draws would depend on thread timing): two runs see
    the same batches, and a resumed run continues it with `skip` (`training.run`).
    """
    autotune = tf.data.AUTOTUNE
    seed = config.seed

    def stream(offset, *arrays):
        dataset = tf.data.Dataset.from_tensor_slices(arrays if len(arrays) > 1 else arrays[0])
        dataset = dataset.shuffle(len(arrays[0]), seed=seed, reshuffle_each_iteration=True)
        seeds = tf.data.Dataset.random(seed=seed + offset, rerandomize_each_iteration=True)
        return tf.data.Dataset.zip((dataset.repeat(), seeds.batch(2)))

    def flip(images, seeds):
        return tf.image.stateless_random_flip_left_right(to_model_range_tf(images), seeds)

    style = config.styles[0]
    if config.family == "pix2pix":
        pairs = stream(0, data.train_content, data.train_paired[style])
        pairs = pairs.map(
            lambda ab, seeds: _flip_together(
                seeds, to_model_range_tf(ab[0]), to_model_range_tf(ab[1])
            ),
            num_parallel_calls=autotune,
        )
    elif config.family == "multistyle_paired":
        # Every (crop, style) pair once per pass, shuffled together: styles are sampled per
        # example, and each target is the exact style of its own crop.
        photos, targets, indices = [], [], []
        for index, name in enumerate(config.styles):
            sources, styled = data.paired_examples(name)
            photos.append(sources)
            targets.append(styled)
            indices.append(np.full(len(sources), index, np.int32))
        examples = stream(
            3, np.concatenate(photos), np.concatenate(targets), np.concatenate(indices)
        )
        pairs = examples.map(
            lambda example, seeds: (
                *_flip_together(
                    seeds, to_model_range_tf(example[0]), to_model_range_tf(example[1])
                ),
                example[2],
            ),
            num_parallel_calls=autotune,
        )
    elif config.family in UNPAIRED_FAMILIES:
        content = stream(1, data.train_content).map(flip, num_parallel_calls=autotune)
        styled = stream(2, np.asarray(data.train_style[style])).map(
            flip, num_parallel_calls=autotune
        )
        pairs = tf.data.Dataset.zip((content, styled))
    else:
        images, indices = data.style_images_and_indices()
        content = stream(1, data.train_content).map(flip, num_parallel_calls=autotune)
        styled = stream(2, images, indices).map(
            lambda bs, seeds: (flip(bs[0], seeds), bs[1]), num_parallel_calls=autotune
        )
        pairs = tf.data.Dataset.zip((content, styled)).map(
            lambda a, bs: (a, bs[0], bs[1]), num_parallel_calls=autotune
        )
    return pairs.batch(config.batch_size, drop_remainder=True).prefetch(autotune)


# --- folders and TFDS: the user's own data ------------------------------------------------------

PREVIEW_COUNT = 8


@dataclasses.dataclass
class Previews:
    """Images shown in a folder run's grids: uint8 sources and, for pairs, their targets."""

    content: np.ndarray
    targets: np.ndarray | None = None


def _load_size(crop_size):
    """pix2pix / CycleGAN jitter proportions: resize to 286 / 256 of the crop, then crop."""
    return round(crop_size * 286 / 256)


def _first_images(dataset, count):
    """Up to `count` examples of a finite dataset of batches, as uint8 arrays."""
    parts = None
    for batch in dataset.unbatch().batch(count).take(1):
        batch = batch if isinstance(batch, tuple) else (batch,)
        parts = [to_uint8(np.asarray(item)) if item.dtype.is_floating else None for item in batch]
    if parts is None:
        raise InputError("the training data gave no image to preview; is the folder empty?")
    return parts


def _multistyle_from_folders(config, common):
    """(content, styled, index) batches from style sub-folders plus `photo/`."""
    from keras_styletransfer.data.style_folders import from_style_folders

    dataset, names = from_style_folders(config.data, batch_size=1, repeat=True, **common)
    content_name = "photo"
    if content_name not in names:
        raise InputError(
            f"multi-style training on a folder needs a {content_name}/ sub-folder of content "
            f"photos beside the style sub-folders; {config.data!r} has {', '.join(names)}."
        )
    styles = [name for name in names if name != content_name]
    if sorted(config.styles) != styles:
        raise InputError(
            f"--styles {','.join(config.styles)} does not match the style sub-folders of "
            f"{config.data!r}: {','.join(styles)}."
        )
    # Folder index -> the model's domain index (config.styles order, the photo last).
    order = [*config.styles, content_name]
    lookup = tf.constant([order.index(name) for name in names], tf.int32)
    photo = names.index(content_name)
    examples = dataset.unbatch()
    content = examples.filter(lambda image, index: index == photo).map(lambda image, _: image)
    styled = examples.filter(lambda image, index: index != photo)
    pairs = tf.data.Dataset.zip((content, styled)).map(
        lambda a, bs: (a, bs[0], tf.gather(lookup, bs[1])),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return pairs.batch(config.batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _paired_styles_from_folders(config, batch, still):
    """(photo, target, style index) batches from `photo/` plus one sub-folder per style whose
    files are the photos' stylisations, matched by file name (`photo/x.jpg` with
    `ink/x.png`); every style is drawn equally often, by a seeded choice."""
    from keras_styletransfer.data import translation as folders

    content_name = "photo"
    if not os.path.isdir(os.path.join(config.data, content_name)):
        raise InputError(
            f"paired multi-style training on a folder needs {content_name}/ (the photos) and one "
            f"sub-folder per style with each photo's stylisation under the same file name; "
            f"{config.data!r} has no {content_name}/."
        )
    per_style = []
    for index, style in enumerate(config.styles):
        pairs = folders.from_paired_folder(
            config.data,
            layout="two_folders",
            folder_names=(content_name, style),
            **{**batch, "batch_size": 1, "seed": config.seed + index},
        )
        per_style.append(pairs.unbatch().map(lambda a, b, i=index: (a, b, tf.constant(i))))
    dataset = tf.data.Dataset.sample_from_datasets(per_style, seed=config.seed)
    sources, _ = _first_images(
        folders.from_paired_folder(
            config.data,
            layout="two_folders",
            folder_names=(content_name, config.styles[0]),
            **still,
        ),
        PREVIEW_COUNT,
    )
    dataset = dataset.batch(config.batch_size, drop_remainder=True)
    return dataset.prefetch(tf.data.AUTOTUNE), Previews(sources)


def build_folder_dataset(config):
    """Training batches and preview images from a folder or TFDS (`config.data`).

    Returns:
        `(dataset, Previews)`: the repeated, jittered training dataset of the family, and a few
        un-augmented images for the grids (pix2pix: sources and targets; CycleGAN: domain A of
        the test split when there is one; multistyle: content photos).
    """
    from keras_styletransfer.data import translation as folders
    from keras_styletransfer.data.style_folders import from_style_folders

    common = dict(
        load_size=_load_size(config.image_size), crop_size=config.image_size, seed=config.seed
    )
    batch = dict(batch_size=config.batch_size, repeat=True, **common)
    still = dict(
        load_size=config.image_size,
        crop_size=config.image_size,
        batch_size=1,
        augment=False,
        shuffle=False,
        drop_remainder=False,
    )
    data = config.data
    if config.family == "pix2pix":
        layout = (
            "two_folders"
            if os.path.isdir(os.path.join(data, "A")) and os.path.isdir(os.path.join(data, "B"))
            else "side_by_side"
        )
        dataset = folders.from_paired_folder(data, layout=layout, **batch)
        sources, targets = _first_images(
            folders.from_paired_folder(data, layout=layout, **still), PREVIEW_COUNT
        )
        return dataset, Previews(sources, targets)
    if config.family in UNPAIRED_FAMILIES:
        if data.startswith("tfds:"):
            name = data.removeprefix("tfds:")
            source = dict(data_dir=config.tfds_data_dir or None)
            dataset = folders.from_tfds_cycle_gan(name, split="train", **source, **batch)
            preview = folders.from_tfds_cycle_gan(name, split="test", **source, **still)
        else:
            dataset = folders.from_unpaired_folder(data, split="train", **batch)
            has_test = os.path.isdir(os.path.join(data, "testA")) and os.path.isdir(
                os.path.join(data, "testB")
            )
            split = "test" if has_test else "train"
            preview = folders.from_unpaired_folder(data, split=split, **still)
        return dataset.prefetch(tf.data.AUTOTUNE), Previews(_first_images(preview, 8)[0])
    if config.family == "multistyle_paired":
        return _paired_styles_from_folders(config, batch, still)
    dataset = _multistyle_from_folders(config, common)
    photos, _ = from_style_folders(data, **still)
    content_index = sorted([*config.styles, "photo"]).index("photo")
    photos = photos.unbatch().filter(lambda image, index: index == content_index).batch(1)
    return dataset, Previews(_first_images(photos, PREVIEW_COUNT)[0])


def build_model(config):
    """A compiled model of the config's family from its translation preset (`config.preset`,
    or the family's default), sized by `filters`, its weights drawn from `config.seed`."""
    name = "restoration_unet" if config.data == RESTORATION_DATA else config.family
    preset = get_translation_preset(config.preset or name)
    model = preset.build(config.image_size, config.filters, tuple(config.styles), config.seed)
    return compile_translation(model, config)


def compile_translation(model, config, discriminator_scale=1.0):
    """Compile `model` with the run's optimizers: Adam(beta_1 0.5) at `config.learning_rate`,
    held for the first half of the run and decayed linearly to 0 over the second for the
    unpaired families (the CycleGAN / CUT references' schedule) and for restoration (measured:
    600 steps, held-out crops, sr2 34.73 -> 34.86 dB, deblur 29.09 -> 29.45 dB, colourise
    17.9 -> 21.2 dB). The discriminators' learning rate is `discriminator_scale` times the
    generators' (1: the references'). With `config.generator_average`, the generator optimizer
    keeps a moving average of the generators' weights, which they take when `fit` ends.
    Returns the model."""

    def schedule(rate):
        if model.family in UNPAIRED_FAMILIES or config.data == RESTORATION_DATA:
            total = config.epochs * config.steps_per_epoch
            return LinearDecayAfter(rate, total // 2, max(total - total // 2, 1))
        return rate

    average = {}
    if config.generator_average:  # the run keeps the average (`AdversarialModel.fit`)
        average = {"use_ema": True, "ema_momentum": config.generator_average}
    model.compile(
        generator_optimizer=keras.optimizers.Adam(
            schedule(config.learning_rate), beta_1=0.5, **average
        ),
        discriminator_optimizer=keras.optimizers.Adam(
            schedule(config.learning_rate * discriminator_scale), beta_1=0.5
        ),
    )
    return model


def served_name(config):
    """The model name a run's export is served under: family and styles."""
    return "_".join([config.family, *config.styles])


def offline_style_set(config):
    """The offline photos and exact styles a `TranslationConfig` trains and is scored on: its
    size, styles, seed and offline split (`TranslationConfig.resolved_offline_split`)."""
    from keras_styletransfer.data.offline_photos import load_offline_style_set

    return load_offline_style_set(
        size=config.image_size,
        styles=config.styles,
        seed=config.seed,
        split=config.resolved_offline_split(),
    )


class TranslationRecipe(Recipe):
    """An image-to-image run: offline photos (scored on held-out photos) or the user's data."""

    def __init__(self, config):
        self.config = validate_translation_config(config)
        self.batch_size = config.batch_size
        self.steps_per_epoch = config.steps_per_epoch
        self.export_name = served_name(config)
        self.data = self.previews = None

    def dataset(self):
        config = self.config
        if config.data == "offline":
            self.data = offline_style_set(config)
            return build_dataset(config, self.data)
        if config.data == RESTORATION_DATA:  # tasks as styles: the paired multi-style branch
            from keras_styletransfer.data.restoration import load_restoration_set

            self.data = load_restoration_set(config.image_size, config.styles, seed=config.seed)
            return build_dataset(config, self.data)
        dataset, self.previews = build_folder_dataset(config)
        return dataset

    def build_model(self):
        return build_model(self.config)

    def save_grid(self, model, path):
        """The results grid: held-out photos (offline) or the user's preview images."""
        if self.config.data == RESTORATION_DATA:
            return restoration.save_restoration_grid(model, self.config, self.data, path)
        if self.data is not None:
            return pictures.save_results_grid(model, self.config, self.data, path)
        return pictures.save_folder_grid(model, self.config, self.previews, path)

    def callbacks(self, run_dir):
        return [pictures.EpochPreview(self.save_grid, os.path.join(run_dir, "previews"))]

    def outputs(self, model, history, run_dir, seconds):
        config, data = self.config, self.data
        if config.data == RESTORATION_DATA:
            return {
                "metrics": restoration.restoration_outputs(
                    model, config, data, history, run_dir, seconds
                )
            }
        metrics = {"family": config.family, "training_seconds": seconds}
        if data is not None:
            metrics["held_out_photos"] = data.sources_of("test")
            metrics["styles"] = evaluate_on_held_out(model, config, data)
            shown = data.test_content
        else:
            # A folder has no exact ground truth for unseen photos: nothing is measured here
            # that could pass for held-out quality. `results.png` shows the outputs.
            metrics.update(data=config.data, styles={})
            shown = self.previews.content
        write_json(os.path.join(run_dir, "metrics.json"), metrics)
        results = os.path.join(run_dir, "results.png")
        if data is not None:  # held-out photos at 512 px in every style, each also on its own
            pictures.save_style_sheet(
                model, config, results, images_dir=os.path.join(run_dir, "results")
            )
        else:
            self.save_grid(model, results)
        pictures.save_patch_map(model, shown, os.path.join(run_dir, "patch_map.png"))
        pictures.save_explanations(model, config, shown, os.path.join(run_dir, "explanations"))
        pictures.save_loss_curves(history, os.path.join(run_dir, "loss_curves.png"))
        return {"metrics": metrics}


def train_translation(config, run_dir, verbose=1):
    """Train, evaluate and export one image-to-image model; see the module docstring.

    Started again on the same `run_dir` after an interruption, it resumes from the last finished
    epoch. `config.strategy` and `config.mixed_precision` apply as in every run (`training.run`):
    `batch_size` is the global batch; with several workers only the chief writes `run_dir`.

    Returns:
        A `TranslationResult`.
    """
    result = run(TranslationRecipe(config), run_dir, verbose=verbose)
    return TranslationResult(
        run_dir=result.run_dir,
        model=result.model,
        history=result.history,
        metrics=result.outputs["metrics"],
        initial_epoch=result.initial_epoch,
        seconds=result.seconds,
        export_path=result.export_path,
    )
