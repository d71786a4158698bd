"""`train_translation(config, run_dir)`: an image-to-image model on the offline photos, end to end.

A run directory holds:
    config.json             the frozen TranslationConfig
    previews/epoch_XXX.png  held-out photos | output | ground truth, after each epoch
    logs/                   TensorBoard scalars
    checkpoints/last.keras  the whole model after the last finished epoch (optimizers included)
    backup/                 resumable per-epoch state while training runs
    final.keras             the trained model (for `keras-styletransfer stylize --model`)
    generator.keras         the generator alone
    saved_model/            the generator as a SavedModel (serving_default signature)
    results.png             the held-out grid after training
    patch_map.png           what the discriminator calls real or fake, per patch (pix2pix, CycleGAN)
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

from keras_styletransfer.callbacks import LatestModel, ResumableBackup, StopOnNonFiniteLoss
from keras_styletransfer.config import validate_translation_config
from keras_styletransfer.data.offline_photos import load_offline_style_set
from keras_styletransfer.images import save_png, tile_images, to_uint8
from keras_styletransfer.models import discriminators, generators
from keras_styletransfer.models.translation import (
    CycleGAN,
    LinearDecayAfter,
    MultiStyleGAN,
    Pix2Pix,
    image_psnr,
    image_ssim,
)


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


def save_patch_map(model, config, data, path):
    """D's per-patch verdict on held-out outputs, as a heat map beside each output."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if isinstance(model, MultiStyleGAN):
        return None
    content = data.test_content[:4]
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


def train_translation(config, run_dir, verbose=1):
    """Train, evaluate and export one image-to-image model; see the module docstring.

    Started again on the same `run_dir` after an interruption, it resumes from the last finished
    epoch.

    Returns:
        A `TranslationResult`.
    """
    validate_translation_config(config)
    started = time.time()
    data = load_offline_style_set(size=config.image_size, styles=config.styles, seed=config.seed)
    dataset = build_dataset(config, data)
    os.makedirs(run_dir, exist_ok=True)
    config.save(run_dir)
    model = build_model(config)
    backup = ResumableBackup(os.path.join(run_dir, "backup"))
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
            HeldOutPreview(config, data, os.path.join(run_dir, "previews")),
        ],
    )
    seconds = time.time() - started
    model.save(os.path.join(run_dir, "final.keras"))
    generator_of(model).save(os.path.join(run_dir, "generator.keras"))
    # A SavedModel with a `serving_default` signature (images in [-1, 1], any size that is a
    # multiple of the generator's stride): what TensorFlow Serving loads.
    generator_of(model).export(os.path.join(run_dir, "saved_model"), verbose=False)
    metrics = {
        "family": config.family,
        "training_seconds": seconds,
        "held_out_photos": data.sources_of("test"),
        "styles": evaluate_on_held_out(model, config, data),
    }
    with open(os.path.join(run_dir, "metrics.json"), "w") as file:
        json.dump(metrics, file, indent=2)
    with open(os.path.join(run_dir, "history.json"), "w") as file:
        json.dump({"initial_epoch": backup.restored_epoch, **history.history}, file, indent=2)
    save_results_grid(model, config, data, os.path.join(run_dir, "results.png"))
    save_patch_map(model, config, data, os.path.join(run_dir, "patch_map.png"))
    save_loss_curves(history.history, os.path.join(run_dir, "loss_curves.png"))
    return TranslationResult(
        run_dir=run_dir,
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
