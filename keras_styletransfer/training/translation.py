"""`train_translation(config, run_dir)`: an image-to-image model on the offline photos, end to end.

A run directory holds:
    config.json             the frozen TranslationConfig
    previews/epoch_XXX.png  held-out photos | output | ground truth, after each epoch
    logs/                   TensorBoard scalars
    checkpoints/last.keras  the whole model after the last finished epoch (optimizers included)
    backup/                 resumable per-epoch state while training runs
    final.keras             the trained model (for `keras-styletransfer stylize --model`)
    generator.keras         the generator alone
    exported/NAME/1/        the generator as a SavedModel for TF Serving (NAME: family_styles;
                            signatures serving_default, serve_uint8, serve_bytes, ...)
    results.png             the held-out grid after training
    patch_map.png           what the discriminator calls real or fake, per patch (pix2pix, CycleGAN)
    explanations/           report.png / report.html: attributions of D's verdict on a few outputs
                            (saliency, SmoothGrad, integrated gradients, Grad-CAM), D's patch map
                            and the edit explanation from the photo to its stylisation
    loss_curves.png         every loss per epoch
    history.json            the Keras history
    metrics.json            SSIM / PSNR of the outputs and of the unchanged photos against the
                            exact stylisations of held-out photos, per style
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import keras
import numpy as np
import tensorflow as tf

from keras_styletransfer import distribute
from keras_styletransfer.config import validate_translation_config
from keras_styletransfer.data.offline_photos import load_offline_style_set
from keras_styletransfer.errors import InputError
from keras_styletransfer.images import image_psnr, image_ssim, save_png, tile_images, to_uint8
from keras_styletransfer.models import discriminators, generators
from keras_styletransfer.models.cyclegan import CycleGAN
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix
from keras_styletransfer.optimizers import LinearDecayAfter
from keras_styletransfer.training.callbacks import LatestModel, StopOnNonFiniteLoss


@dataclasses.dataclass
class TranslationResult:
    run_dir: str
    model: keras.Model
    history: dict
    metrics: dict
    initial_epoch: int
    seconds: float


def _unit(images):
    return tf.cast(images, tf.float32) / 127.5 - 1.0


def _flip_together(*images):
    """One random left-right flip applied to every image of a pair (paired jitter)."""
    flip = tf.random.uniform(()) > 0.5
    return tuple(
        tf.cond(flip, lambda i=i: tf.image.flip_left_right(i), lambda i=i: i) for i in images
    )


def build_dataset(config, data):
    """The training `tf.data.Dataset` of one family, batched, repeated, prefetched."""
    autotune = tf.data.AUTOTUNE
    seed = config.seed

    def stream(*arrays):
        dataset = tf.data.Dataset.from_tensor_slices(arrays if len(arrays) > 1 else arrays[0])
        return dataset.shuffle(len(arrays[0]), seed=seed, reshuffle_each_iteration=True).repeat()

    style = config.styles[0]
    if config.family == "pix2pix":
        pairs = stream(data.train_content, data.train_paired[style])
        pairs = pairs.map(
            lambda a, b: _flip_together(_unit(a), _unit(b)), num_parallel_calls=autotune
        )
    elif config.family == "cyclegan":
        content = stream(data.train_content).map(
            lambda a: tf.image.random_flip_left_right(_unit(a)), num_parallel_calls=autotune
        )
        styled = stream(np.asarray(data.train_style[style])).map(
            lambda b: tf.image.random_flip_left_right(_unit(b)), num_parallel_calls=autotune
        )
        pairs = tf.data.Dataset.zip((content, styled))
    else:
        images, indices = data.style_images_and_indices()
        content = stream(data.train_content).map(
            lambda a: tf.image.random_flip_left_right(_unit(a)), num_parallel_calls=autotune
        )
        styled = stream(images, indices).map(
            lambda b, s: (tf.image.random_flip_left_right(_unit(b)), s),
            num_parallel_calls=autotune,
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
    from keras_styletransfer.data.translation import from_style_folders

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


def build_folder_dataset(config):
    """Training batches and preview images from a folder or TFDS (`config.data`).

    Returns:
        `(dataset, Previews)`: the repeated, jittered training dataset of the family, and a few
        un-augmented images for the grids (pix2pix: sources and targets; CycleGAN: domain A of
        the test split when there is one; multistyle: content photos).
    """
    from keras_styletransfer.data import translation as folders

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
    if config.family == "cyclegan":
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
    dataset = _multistyle_from_folders(config, common)
    photos, _ = folders.from_style_folders(data, **still)
    content_index = sorted([*config.styles, "photo"]).index("photo")
    photos = photos.unbatch().filter(lambda image, index: index == content_index).batch(1)
    return dataset, Previews(_first_images(photos, PREVIEW_COUNT)[0])


def save_folder_grid(model, config, previews, path):
    """Rows of source | output per style [| target], for a run on the user's data."""
    tiles = []
    outputs = [to_uint8(translate(model, previews.content, style=s)) for s in config.styles]
    for row, photo in enumerate(previews.content):
        tiles.append(photo)
        tiles.extend(output[row] for output in outputs)
        if previews.targets is not None:
            tiles.append(previews.targets[row])
    columns = 1 + len(outputs) + (previews.targets is not None)
    grid = tile_images(np.stack(tiles), columns=columns)
    return save_png(grid, path, scale=max(1, 128 // config.image_size))


class FolderPreview(keras.callbacks.Callback):
    """After each epoch, the preview grid of a run on the user's data under `folder`."""

    def __init__(self, config, previews, folder):
        super().__init__()
        self.config, self.previews, self.folder = config, previews, folder

    def on_epoch_end(self, epoch, logs=None):
        path = os.path.join(self.folder, f"epoch_{epoch + 1:03d}.png")
        save_folder_grid(self.model, self.config, self.previews, path)


def build_model(config):
    """A compiled model of the config's family, sized by `filters`."""
    keras.utils.set_random_seed(config.seed)
    filters = config.filters
    downsamplings = int(np.log2(config.image_size)) - 2  # U-Net down to 4x4
    if config.family == "pix2pix":
        model = Pix2Pix(
            generators.UNetGenerator(
                num_downsamplings=downsamplings, filters=filters, max_filters=8 * filters
            ),
            discriminators.PatchGANDiscriminator(
                num_layers=2, filters=filters, conditional=True, norm="batch", name="patchgan"
            ),
            seed=config.seed,
        )
        schedule = config.learning_rate
    elif config.family == "cyclegan":
        model = CycleGAN(
            generators.ResnetGenerator(num_residual_blocks=6, filters=filters, name="g_ab"),
            generators.ResnetGenerator(num_residual_blocks=6, filters=filters, name="g_ba"),
            discriminators.PatchGANDiscriminator(num_layers=2, filters=filters, name="d_a"),
            discriminators.PatchGANDiscriminator(num_layers=2, filters=filters, name="d_b"),
            image_shape=(config.image_size, config.image_size, 3),
            seed=config.seed,
        )
        total = config.epochs * config.steps_per_epoch
        schedule = LinearDecayAfter(config.learning_rate, total // 2, max(total - total // 2, 1))
    else:
        domains = len(config.styles) + 1
        model = MultiStyleGAN(
            generators.StyleGenerator(num_styles=domains, filters=filters),
            discriminators.GlobalPoolDiscriminator(filters=filters, num_styles=domains),
            style_names=list(config.styles),
            seed=config.seed,
        )
        schedule = config.learning_rate
    model.compile(
        generator_optimizer=keras.optimizers.Adam(schedule, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(schedule, beta_1=0.5),
    )
    return model


def generator_of(model):
    return model.generator_ab if isinstance(model, CycleGAN) else model.generator


def translate(model, images, style=None, strength=1.0, batch_size=16):
    """Run the model's generator on uint8 images; returns float32 in [-1, 1]."""
    generator = generator_of(model)
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = _unit(images[start : start + batch_size])
        if isinstance(model, MultiStyleGAN):
            index = model.domain_names.index(style)
            indices = tf.fill([tf.shape(batch)[0]], index)
            outputs.append(model.render(batch, indices, strength).numpy())
        else:
            outputs.append(generator(batch, training=False).numpy())
    return np.concatenate(outputs)


def evaluate_on_held_out(model, config, data):
    """SSIM and PSNR on the held-out photos and crops, per style, with the identity baseline."""
    results = {}
    for style in config.styles:
        entry = {}
        for part, content, truth in (
            ("photos", data.test_content, data.test_targets[style]),
            ("crops", data.test_crops, data.test_crop_targets[style]),
        ):
            if not len(content):
                continue
            outputs = translate(model, content, style=style)
            truth_unit, content_unit = _unit(truth), _unit(content)
            model_ssim = float(tf.reduce_mean(image_ssim(truth_unit, outputs)))
            base_ssim = float(tf.reduce_mean(image_ssim(truth_unit, content_unit)))
            entry[part] = {
                "count": len(content),
                "ssim": model_ssim,
                "psnr": float(tf.reduce_mean(image_psnr(truth_unit, outputs))),
                "baseline_ssim": base_ssim,
                "baseline_psnr": float(tf.reduce_mean(image_psnr(truth_unit, content_unit))),
                # Share of the distance from the unchanged photo to a perfect match (SSIM 1)
                # that the model closes: 0 = no better than the photo, 1 = exact.
                "ssim_gap_closed": (model_ssim - base_ssim) / max(1.0 - base_ssim, 1e-8),
            }
        results[style] = entry
    return results


def save_results_grid(model, config, data, path, rows=8):
    """Rows of held-out image | output | ground truth, one block per style."""
    content = np.concatenate([data.test_content, data.test_crops])[:rows]
    tiles = []
    for style in config.styles:
        outputs = to_uint8(translate(model, content, style=style))
        truth = np.concatenate([data.test_targets[style], data.test_crop_targets[style]])[:rows]
        for photo, output, target in zip(content, outputs, truth, strict=True):
            tiles.extend([photo, output, target])
    grid = tile_images(np.stack(tiles), columns=3)
    return save_png(grid, path, scale=max(1, 128 // config.image_size))


def save_patch_map(model, content, path):
    """D's per-patch verdict on the outputs for `content` (uint8 images), beside each output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(model, MultiStyleGAN):
        return None
    content = np.asarray(content)[:4]
    outputs = tf.constant(translate(model, content))
    if isinstance(model, Pix2Pix):
        logits = model.discriminator([_unit(content), outputs], training=False)
    else:
        logits = model.discriminator_b(outputs, training=False)
    logits = np.asarray(logits)[..., 0]
    figure, axes = plt.subplots(2, len(content), figsize=(3 * len(content), 6), squeeze=False)
    for column in range(len(content)):
        axes[0, column].imshow(to_uint8(outputs[column]))
        axes[0, column].set_title("output")
        shown = axes[1, column].imshow(logits[column], cmap="RdYlGn")
        axes[1, column].set_title("D per patch (green: real)")
        figure.colorbar(shown, ax=axes[1, column], fraction=0.046)
        for axis in axes[:, column]:
            axis.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


def save_loss_curves(history, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [k for k in history if k.endswith("loss")]
    if not keys:
        return None
    figure, axis = plt.subplots(figsize=(7, 4))
    for key in keys:
        axis.plot(range(1, len(history[key]) + 1), history[key], label=key)
    axis.set_xlabel("epoch")
    axis.set_yscale("log")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path


class HeldOutPreview(keras.callbacks.Callback):
    """After each epoch, a held-out grid (photo | output | truth) under `folder`."""

    def __init__(self, config, data, folder):
        super().__init__()
        self.config, self.data, self.folder = config, data, folder

    def on_epoch_end(self, epoch, logs=None):
        save_results_grid(
            self.model,
            self.config,
            self.data,
            os.path.join(self.folder, f"epoch_{epoch + 1:03d}.png"),
        )


def save_explanations(model, config, content, out_dir, count=4):
    """Why D judges the outputs as it does: saliency, SmoothGrad, integrated gradients and
    Grad-CAM of D's realness of G(x), D's patch map, and the edit explanation (integrated
    gradients from the photo x to G(x), summing to D(G(x)) - D(x)), for a few photos."""
    from keras_styletransfer.explain.report import explanation_report

    images = _unit(np.asarray(content)[:count]).numpy()
    style = config.styles[0] if isinstance(model, MultiStyleGAN) else None
    return explanation_report(model, images=images, out_dir=out_dir, style=style)


def served_name(config):
    """The model name a run's export is served under: family and styles."""
    return "_".join([config.family, *config.styles])


def train_translation(config, run_dir, verbose=1):
    """Train, evaluate and export one image-to-image model; see the module docstring.

    Started again on the same `run_dir` after an interruption, it resumes from the last finished
    epoch. `config.strategy` and `config.mixed_precision` are applied as in `training.train`
    (`batch_size` is the global batch; with several workers only the chief writes `run_dir`).

    Returns:
        A `TranslationResult`.
    """
    validate_translation_config(config)
    with distribute.mixed_precision(config.mixed_precision):
        strategy = distribute.get_strategy(config.strategy)
        return _train_translation(config, run_dir, verbose, strategy)


def _train_translation(config, shared_run_dir, verbose, strategy):
    distribute.check_global_batch_size(config.batch_size, strategy)
    # The run folder itself on the chief, a private temporary folder on the other workers.
    run_dir = distribute.worker_path(shared_run_dir, strategy)
    started = time.time()
    previews_dir = os.path.join(run_dir, "previews")
    if config.data == "offline":
        data = load_offline_style_set(
            size=config.image_size, styles=config.styles, seed=config.seed
        )
        dataset = build_dataset(config, data)
        preview = HeldOutPreview(config, data, previews_dir)
        shown = data.test_content
    else:
        data = None
        dataset, previews = build_folder_dataset(config)
        preview = FolderPreview(config, previews, previews_dir)
        shown = previews.content
    os.makedirs(run_dir, exist_ok=True)
    config.save(run_dir)
    with strategy.scope():
        model = build_model(config)
        if distribute.num_replicas(strategy) > 1:
            for network in (*model.generator_networks(), *model.discriminator_networks()):
                distribute.synchronize_batch_norm(network)
    # Every worker restores from the shared backup folder; only the chief writes to it.
    backup = distribute.ChiefBackup(os.path.join(shared_run_dir, "backup"), strategy=strategy)
    history = model.fit(
        dataset,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        verbose=verbose,
        callbacks=[
            StopOnNonFiniteLoss(),
            backup,
            LatestModel(os.path.join(run_dir, "checkpoints", "last.keras")),
            keras.callbacks.TensorBoard(os.path.join(run_dir, "logs")),
            preview,
        ],
    )
    seconds = time.time() - started
    model.save(os.path.join(run_dir, "final.keras"))
    generator_of(model).save(os.path.join(run_dir, "generator.keras"))
    # The generator as a SavedModel in TF Serving's layout, with float, uint8 and encoded-image
    # signatures (and style / strength inputs for the multi-style model).
    from keras_styletransfer.serving.export import export_generator

    export_generator(
        model,
        os.path.join(run_dir, "exported"),
        name=served_name(config),
        version=1,
        overwrite=True,
    )
    if data is not None:
        metrics = {
            "family": config.family,
            "training_seconds": seconds,
            "held_out_photos": data.sources_of("test"),
            "styles": evaluate_on_held_out(model, config, data),
        }
    else:
        metrics = {
            "family": config.family,
            "training_seconds": seconds,
            "data": config.data,
            # A folder has no exact ground truth for unseen photos: nothing is measured here
            # that could pass for held-out quality. `results.png` shows the outputs.
            "styles": {},
        }
    with open(os.path.join(run_dir, "metrics.json"), "w") as file:
        json.dump(metrics, file, indent=2)
    with open(os.path.join(run_dir, "history.json"), "w") as file:
        json.dump({"initial_epoch": backup.restored_epoch, **history.history}, file, indent=2)
    if data is not None:
        save_results_grid(model, config, data, os.path.join(run_dir, "results.png"))
    else:
        save_folder_grid(model, config, previews, os.path.join(run_dir, "results.png"))
    save_patch_map(model, shown, os.path.join(run_dir, "patch_map.png"))
    save_explanations(model, config, shown, os.path.join(run_dir, "explanations"))
    save_loss_curves(history.history, os.path.join(run_dir, "loss_curves.png"))
    distribute.remove_worker_files(shared_run_dir, strategy)
    return TranslationResult(
        run_dir=shared_run_dir,
        model=model,
        history=history.history,
        metrics=metrics,
        initial_epoch=backup.restored_epoch,
        seconds=seconds,
    )


def judge_on_held_out(model, config, data, epochs=6):
    """Style score, FID and KID of held-out outputs, on the features of a `StyleJudge`.

    The judge is a small classifier trained here on the training style images of every style
    and on the training photos (class "photo"); InceptionV3 would need weights from the network.
    FID / KID compare the outputs on the held-out crops with the exact stylisation of those crops,
    on the judge's 64-d features: useful to compare models and styles here, not comparable to
    published FID values. The unchanged crops give the baseline.
    """
    from keras_styletransfer.metrics import StyleJudge, frechet_distance, kernel_distance

    classes = {style: data.train_style[style] for style in config.styles}
    classes["photo"] = data.train_content
    judge = StyleJudge.train(classes, epochs=epochs, seed=config.seed)
    results = {}
    for style in config.styles:
        truth = judge.features(_unit(data.test_crop_targets[style]).numpy())
        entry = {}
        for label, images in (
            ("model", translate(model, data.test_crops, style=style)),
            ("baseline", _unit(data.test_crops).numpy()),
        ):
            features = judge.features(images)
            entry[label] = {
                "style_score": judge.style_score(images, style),
                "style_accuracy": judge.accuracy(images, style),
                "fid_judge_features": frechet_distance(features, truth),
                "kid_judge_features": kernel_distance(features, truth),
            }
        results[style] = entry
    return results
