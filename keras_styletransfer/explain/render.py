"""Pictures of explanations: per-image normalisation, heat-map overlays, titled grids, TensorBoard.

Unlike tf-explain's displays, every map is normalised on its own (not the whole batch as one
image) and converted to uint8 by clipping, never by wrapping.
"""

from __future__ import annotations

import os

import numpy as np

from keras_styletransfer.errors import InputError


def normalize_map(attribution_map, signed=False, percentile=99.5):
    """Scale one map (or each map of a batch) to [0, 1] on its own.

    Args:
        attribution_map: array (H, W) or (batch, H, W).
        signed: bool. Map [-m, m] to [0, 1] around 0.5 instead of [min, max] to [0, 1].
            Defaults to False.
        percentile: float. Values above this percentile of |map| saturate (outliers would
            otherwise flatten everything else). Defaults to 99.5.

    Returns:
        np.ndarray float32 in [0, 1], same shape.
    """
    maps = np.asarray(attribution_map, np.float32)
    if maps.ndim == 3:
        return np.stack([normalize_map(m, signed, percentile) for m in maps])
    if maps.ndim != 2:
        raise InputError(f"a map must be (H, W) or (batch, H, W); received {maps.shape}.")
    maps = np.nan_to_num(maps)
    if signed:
        scale = np.percentile(np.abs(maps), percentile)
        return np.clip(0.5 + 0.5 * maps / max(scale, 1e-12), 0, 1).astype(np.float32)
    low = maps.min()
    high = np.percentile(maps, percentile)
    if high <= low:
        high = maps.max()
    if high <= low:
        return np.zeros_like(maps)
    return np.clip((maps - low) / (high - low), 0, 1).astype(np.float32)


def to_uint8(image):
    """An image in [-1, 1] (or [0, 1] float / uint8) as uint8 RGB, clipped (no wrap)."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        result = image
    else:
        image = image.astype(np.float32)
        if image.min() < 0:
            image = (image + 1.0) / 2.0
        result = np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    if result.ndim == 2:
        result = result[..., None]
    if result.shape[-1] == 1:
        result = np.repeat(result, 3, axis=-1)
    return result


def heatmap(attribution_map, colormap="inferno", signed=False):
    """A normalised map as a uint8 RGB colour image (OpenCV colormap)."""
    import cv2

    colormaps = {
        "inferno": cv2.COLORMAP_INFERNO,
        "viridis": cv2.COLORMAP_VIRIDIS,
        "jet": cv2.COLORMAP_JET,
        "coolwarm": cv2.COLORMAP_TWILIGHT_SHIFTED,
    }
    if colormap not in colormaps:
        raise InputError(f"Unknown colormap {colormap!r}. Valid: {', '.join(colormaps)}.")
    values = (normalize_map(attribution_map, signed) * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(values, colormaps[colormap]), cv2.COLOR_BGR2RGB)


def overlay(image, attribution_map, image_weight=0.5, colormap="inferno", signed=False):
    """The heat map of `attribution_map` blended over `image`.

    Args:
        image: array (H, W, C) in [-1, 1] (or uint8).
        attribution_map: array (h, w); resized to the image.
        image_weight: float. Weight of the image in the blend. Defaults to 0.5.
        colormap: str. "inferno", "viridis", "jet" or "coolwarm". Defaults to "inferno".
        signed: bool. Diverging scale around 0. Defaults to False.

    Returns:
        np.ndarray (H, W, 3) uint8.
    """
    import cv2

    base = to_uint8(image)
    attribution_map = np.asarray(attribution_map, np.float32)
    if attribution_map.shape != base.shape[:2]:
        attribution_map = cv2.resize(
            attribution_map, (base.shape[1], base.shape[0]), interpolation=cv2.INTER_LINEAR
        )
    colour = heatmap(attribution_map, colormap, signed)
    return cv2.addWeighted(base, float(image_weight), colour, 1.0 - float(image_weight), 0.0)


def grid_figure(rows, titles=None, row_titles=None, cell_inches=1.8):
    """A matplotlib figure of uint8 images laid out as `rows` (a list of lists), with titles."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    row_count = len(rows)
    column_count = max(len(row) for row in rows)
    figure, axes = plt.subplots(
        row_count,
        column_count,
        figsize=(cell_inches * column_count, cell_inches * row_count + 0.3),
        squeeze=False,
    )
    for row_index, row in enumerate(rows):
        for column_index in range(column_count):
            axis = axes[row_index][column_index]
            axis.axis("off")
            if column_index < len(row) and row[column_index] is not None:
                axis.imshow(row[column_index], interpolation="nearest")
            if row_index == 0 and titles and column_index < len(titles):
                axis.set_title(titles[column_index], fontsize=8)
        if row_titles and row_index < len(row_titles):
            axes[row_index][0].text(
                -0.08,
                0.5,
                row_titles[row_index],
                transform=axes[row_index][0].transAxes,
                rotation=90,
                va="center",
                ha="right",
                fontsize=7,
            )
    figure.tight_layout()
    return figure


def save_grid(path, rows, titles=None, row_titles=None):
    """Save a titled grid of uint8 images (see `grid_figure`) as a PNG; returns the path."""
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure = grid_figure(rows, titles, row_titles)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def save_png(path, image):
    """Save one uint8 RGB image as PNG (cv2); returns the path."""
    import cv2

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if not cv2.imwrite(path, cv2.cvtColor(to_uint8(image), cv2.COLOR_RGB2BGR)):
        raise InputError(f"Could not write {path!r}.")
    return path


def write_summary_images(writer, name, images, step):
    """Write uint8 images (batch, H, W, 3) as a TensorBoard image summary with `writer`."""
    import tensorflow as tf

    with writer.as_default():
        tf.summary.image(name, np.asarray(images, np.uint8), step=step, max_outputs=len(images))
    writer.flush()
