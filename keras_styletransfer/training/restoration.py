"""What a restoration run writes besides the skeleton's files (`data="restoration"`, see
`training.translation`): one multistyle_paired generator G(x, t) whose styles are restoration
tasks (`data.restoration`), scored against the classical baselines on held-out photos.

    previews/epoch_XXX.png  held-out crops: degraded | restored | clean, per task
    results.png             held-out photos at 256 px per task: degraded | model | baseline |
                            clean, with each image's PSNR; every image also in results/
    metrics.json            PSNR / SSIM of the model, the degraded input and each baseline per
                            task, on held-out crops and whole photos at 256 px
    loss_curves.png         every loss per epoch
"""

from __future__ import annotations

import os

import numpy as np

from keras_styletransfer.data.restoration import (
    BASELINES,
    baseline,
    held_out_restoration,
    quality,
    score_restoration,
)
from keras_styletransfer.files import write_json
from keras_styletransfer.images import labelled_sheet, save_png, tile_images, to_uint8
from keras_styletransfer.training import outputs as pictures

# The held-out views a run scores (the benchmark adds "full": native size, tiled).
RUN_VIEWS = ("crops", 256)
SHEET_LONG_SIDE = 256


def restorer(model, batch_size=4, max_tile_pixels=512 * 512):
    """A callable `(uint8 images, task) -> uint8 images` running a restoration model's generator
    at each image's own size (tiled above `max_tile_pixels`, as `stylize`).

    Args:
        model: a `PairedMultiStyle` wrapper, or a bare style generator whose slots are tasks
            (then `model.style_names` is not there: pass a wrapper, or use
            `serving.inference.Stylizer` directly).
    """
    from keras_styletransfer.serving.inference import Stylizer

    stylizer = Stylizer(
        model.primary_generator(),
        model.generator_style_names,
        batch_size=batch_size,
        max_tile_pixels=max_tile_pixels,
    )

    def restore(images, task):
        return [to_uint8(output) for output in stylizer(list(images), style=task)]

    return restore


def save_restoration_grid(model, config, data, path, rows=4):
    """Rows of held-out crop degraded | restored | clean, `rows` per task."""
    restore = restorer(model)
    tiles = []
    for task in config.styles:
        degraded = data.test_degraded[task][:rows]
        for image, output, clean in zip(
            degraded, restore(degraded, task), data.test_crops[:rows], strict=True
        ):
            tiles.extend([image, output, clean])
    grid = tile_images(np.stack(tiles), columns=3)
    return save_png(grid, path, scale=max(1, 128 // config.image_size))


def save_restoration_sheet(model, config, path, images_dir=None, count=2, seed=0):
    """Held-out photos at 256 px, per task and variant: degraded | model | baseline | clean,
    each labelled with its PSNR; every image also saved in `images_dir` when given."""
    restore = restorer(model)
    rows, files = [], {}
    for task in config.styles:
        method = next(iter(BASELINES[task]))
        examples = held_out_restoration(task, SHEET_LONG_SIDE, seed)
        names = list(dict.fromkeys(name for name, *_ in examples))[:count]
        chosen = [example for example in examples if example[0] in names]
        outputs = restore([degraded for _, _, degraded, _ in chosen], task)
        for (name, variant, degraded, clean), output in zip(chosen, outputs, strict=True):
            classical = baseline(task, degraded, method)
            row = []
            for kind, label, image in (
                ("input", f"{task} ({variant}) input", degraded),
                ("model", "model", output),
                ("baseline", method, classical),
            ):
                row.append((f"{label} {quality(clean, image)[0]:.1f} dB", image))
                files[f"{name}_{task}_{variant}_{kind}.png"] = image
            row.append((f"{name} clean", clean))
            rows.append(row)
    if images_dir:
        os.makedirs(images_dir, exist_ok=True)
        for name, image in files.items():
            save_png(image, os.path.join(images_dir, name))
    return save_png(labelled_sheet(rows, font_size=14, label_height=22), path)


def restoration_outputs(model, config, data, history, run_dir, seconds):
    """Write metrics.json, results.png (+ results/) and loss_curves.png; return the metrics."""
    scores = score_restoration(
        restorer(model), config.styles, views=RUN_VIEWS, seed=config.seed, crops=data.test_crops
    )
    metrics = {
        "family": config.family,
        "data": config.data,
        "training_seconds": seconds,
        "held_out_photos": data.sources_of("test"),
        "tasks": scores,
    }
    write_json(os.path.join(run_dir, "metrics.json"), metrics)
    save_restoration_sheet(
        model,
        config,
        os.path.join(run_dir, "results.png"),
        images_dir=os.path.join(run_dir, "results"),
        seed=config.seed,
    )
    pictures.save_loss_curves(history, os.path.join(run_dir, "loss_curves.png"))
    return metrics
