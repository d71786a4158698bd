"""Pictures a translation run writes: result grids, per-epoch previews, D's patch map, loss curves
and the explanation report. Models are read through the wrappers' public contract only.
"""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_styletransfer.evaluation import translate
from keras_styletransfer.images import (
    labelled_sheet,
    new_figure,
    save_figure,
    save_png,
    tile_images,
    to_model_range,
    to_model_range_tf,
    to_uint8,
)


def _grid_scale(config):
    return max(1, 128 // config.image_size)


def save_results_grid(model, config, data, path, rows=8):
    """Rows of held-out image | output | ground truth, one block per style (offline data)."""
    content = np.concatenate([data.test_content, data.test_crops])[:rows]
    tiles = []
    for style in config.styles:
        outputs = to_uint8(translate(model, content, style=style))
        truth = np.concatenate([data.test_targets[style], data.test_crop_targets[style]])[:rows]
        for photo, output, target in zip(content, outputs, truth, strict=True):
            tiles.extend([photo, output, target])
    grid = tile_images(np.stack(tiles), columns=3)
    return save_png(grid, path, scale=_grid_scale(config))


SHEET_LONG_SIDE = 512
STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


def save_style_sheet(model, config, path, long_side=SHEET_LONG_SIDE, count=3, images_dir=None):
    """The held-out photos at `long_side` px, each in every style with the exact style below;
    for a multi-style model also a strength strip and a blend of the first two styles.

    Args:
        model: keras.Model. A translation wrapper trained on the offline photos.
        config: TranslationConfig. Its `styles` are shown.
        path: str. The PNG to write.
        long_side: int. Long side of the photos shown. Defaults to 512.
        count: int. Held-out photos shown. Defaults to 3.
        images_dir: str. When given, every output is also saved there as
            `<photo>_<style>.png`, at the same size.

    Returns:
        `path`.
    """
    from keras_styletransfer.data.offline_photos import held_out_photos, held_out_targets
    from keras_styletransfer.serving.inference import Stylizer

    photos = held_out_photos(long_side)[:count]
    names = model.generator_style_names or None
    stylizer = Stylizer(model.primary_generator(), names)
    styled = stylizer.styled

    def render(image, style, strength=1.0):
        return to_uint8(stylizer([image], style=style if styled else None, strength=strength)[0])

    rows, files = [], {}
    truths = {style: held_out_targets(style, long_side)[:count] for style in config.styles}
    for index, (name, photo) in enumerate(photos):
        outputs = [(style, render(photo, style)) for style in config.styles]
        files.update({f"{name}_{style}.png": image for style, image in outputs})
        rows.append([(f"{name} (held out)", photo), *outputs])
        rows.append(
            [("exact style:", np.full_like(photo, 255))]
            + [(f"exact {style}", truths[style][index]) for style in config.styles]
        )
    if styled and photos:
        name, photo = photos[0]
        first = config.styles[0]
        rows.append([(f"{first} strength {s:g}", render(photo, first, s)) for s in STRENGTHS])
        if len(config.styles) > 1:
            second = config.styles[1]
            blend = render(photo, {first: 0.5, second: 0.5})
            files[f"{name}_{first}+{second}.png"] = blend
            rows.append(
                [
                    (first, render(photo, first)),
                    (f"blend 50% {first} + 50% {second}", blend),
                    (second, render(photo, second)),
                ]
            )
    if images_dir:
        os.makedirs(images_dir, exist_ok=True)
        for file_name, image in files.items():
            save_png(image, os.path.join(images_dir, file_name))
    return save_png(labelled_sheet(rows), path)


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
    return save_png(grid, path, scale=_grid_scale(config))


class EpochPreview(keras.callbacks.Callback):
    """After each epoch, `draw(model, path)` writes `folder/epoch_XXX.png`.

    Args:
        draw: callable `(model, path)`, e.g. a `save_results_grid` bound to its data.
        folder: str.
    """

    def __init__(self, draw, folder):
        super().__init__()
        self.draw, self.folder = draw, folder

    def on_epoch_end(self, epoch, logs=None):
        self.draw(self.model, os.path.join(self.folder, f"epoch_{epoch + 1:03d}.png"))


def save_patch_map(model, content, path):
    """D's per-patch verdict on the outputs for `content` (uint8 images), beside each output.

    Returns:
        The path, or None when the primary discriminator gives one verdict per image (no map).
    """
    content = np.asarray(content)[:4]
    style = model.style_names[0] if model.style_names else None
    outputs = translate(model, content, style=style)
    index = model.generator_style_names.index(style) if style is not None else 0
    batch = model.content_batch(to_model_range_tf(content), index)
    logits = np.asarray(model.discriminator_logits(outputs, batch=batch, training=False))
    if logits.ndim != 4 or logits.shape[1] * logits.shape[2] <= 1:
        return None
    logits = logits[..., 0]
    figure = new_figure(figsize=(3 * len(content), 6))
    axes = figure.subplots(2, len(content), squeeze=False)
    for column in range(len(content)):
        axes[0, column].imshow(to_uint8(outputs[column]))
        axes[0, column].set_title("output")
        shown = axes[1, column].imshow(logits[column], cmap="RdYlGn")
        axes[1, column].set_title("D per patch (green: real)")
        figure.colorbar(shown, ax=axes[1, column], fraction=0.046)
        for axis in axes[:, column]:
            axis.axis("off")
    figure.tight_layout()
    return save_figure(figure, path, dpi=80)


def save_loss_curves(history, path):
    """Every loss of a Keras history per epoch, on a log scale; None when there is none."""
    keys = [k for k in history if k.endswith("loss")]
    if not keys:
        return None
    figure = new_figure(figsize=(7, 4))
    axis = figure.subplots()
    for key in keys:
        axis.plot(range(1, len(history[key]) + 1), history[key], label=key)
    axis.set_xlabel("epoch")
    axis.set_ylabel("loss (mean per epoch, log scale)")
    axis.set_yscale("log")
    axis.set_title("training losses per epoch", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    figure.tight_layout()
    return save_figure(figure, path, dpi=80)


EXPLANATION_LONG_SIDE = 256  # explanations at a readable size, not at the training crop's


def save_explanations(model, config, content, out_dir, count=4):
    """Why D judges the outputs as it does: saliency, SmoothGrad, integrated gradients and
    Grad-CAM of D's realness of G(x), D's patch map, and the edit explanation (integrated
    gradients from the photo x to G(x), summing to D(G(x)) - D(x)), for a few photos: the
    held-out photos whole at 256 px (offline data), else `content` at its own size."""
    from keras_styletransfer.explain.report import explanation_report, model_sized

    generator = model.primary_generator()
    if config.data == "offline":
        from keras_styletransfer.data.offline_photos import held_out_photos

        names, photos = zip(*held_out_photos(EXPLANATION_LONG_SIDE)[:count], strict=True)
    else:
        photos = list(np.asarray(content)[:count])
        names = [f"image_{index}" for index in range(len(photos))]
    images = [to_model_range(model_sized(photo, generator)) for photo in photos]
    style = config.styles[0] if model.style_names else None
    return explanation_report(model, images=images, out_dir=out_dir, style=style, names=names)
