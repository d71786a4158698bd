"""Images in the package's one convention, and pictures for people.

Models take and make float images in [-1, 1]. This module holds the only conversions between that
range and uint8 (NumPy and TensorFlow), PNG writing, grids, image quality measures (PSNR, SSIM)
and matplotlib figures that do not touch pyplot's global state.
"""

from __future__ import annotations

import math

import numpy as np


def to_uint8(images):
    """Map float images in [-1, 1] to uint8 [0, 255], clipping (never wrapping) out-of-range values.

    Args:
        images: array-like `(..., H, W, C)` in [-1, 1].

    Returns:
        uint8 array of the same shape.
    """
    images = np.asarray(images, dtype=np.float32)
    return np.round((np.clip(images, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


def tile_images(images, columns=None, padding=2, pad_value=255):
    """Arrange a batch `(N, H, W, C)` of uint8 images in a grid, row by row.

    Args:
        images: uint8 array `(N, H, W, C)`.
        columns: int. Defaults to ceil(sqrt(N)).
        padding: int. Pixels between tiles. Defaults to 2.
        pad_value: int. Colour of the padding. Defaults to 255 (white).

    Returns:
        uint8 array `(rows * (H + p) - p, columns * (W + p) - p, C)`.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"expected images of shape (N, H, W, C); received {images.shape}.")
    count, height, width, channels = images.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full(
        (rows * (height + padding) - padding, columns * (width + padding) - padding, channels),
        pad_value,
        dtype=images.dtype,
    )
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + padding), column * (width + padding)
        grid[top : top + height, left : left + width] = image
    return grid


def save_png(image, path, scale=1):
    """Write one image `(H, W, C)` (C = 1 or 3) as PNG, enlarged `scale` times (nearest).

    uint8 images are written as they are; float images are read as [-1, 1] (`to_uint8`).

    Returns:
        The path written.
    """
    from PIL import Image

    image = np.asarray(image)
    if image.dtype != np.uint8:
        image = to_uint8(image)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    from keras_styletransfer.files import write_atomically

    picture = Image.fromarray(image)
    return write_atomically(path, lambda temporary: picture.save(temporary))


def save_image_grid(images, path, columns=None, min_tile_size=84):
    """Save a batch in [-1, 1] as one PNG grid, enlarging small images so digits are legible.

    Returns:
        The path written.
    """
    tiles = to_uint8(images)
    scale = max(1, math.ceil(min_tile_size / tiles.shape[1]))
    return save_png(tile_images(tiles, columns=columns), path, scale=scale)


# --- image quality (TensorFlow) ------------------------------------------------------------


def labelled_sheet(rows, label_height=30, padding=6, font_size=20):
    """A sheet of labelled images at their own pixel size: each row a list of `(label, image)`
    with uint8 RGB images `(H, W, 3)`; a caption strip above every image. Rows may differ in
    size (narrower rows are padded white on the right).

    Returns:
        uint8 RGB array.
    """
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=font_size)
    strips = []
    for row in rows:
        height = max(image.shape[0] for _, image in row) + label_height
        width = sum(image.shape[1] for _, image in row) + padding * (len(row) - 1)
        strip = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(strip)
        left = 0
        for label, image in row:
            strip.paste(Image.fromarray(as_rgb_uint8(image)), (left, label_height))
            draw.text((left + 4, 4), str(label), fill="black", font=font)
            left += image.shape[1] + padding
        strips.append(np.asarray(strip))
    width = max(strip.shape[1] for strip in strips)
    sheet = np.full(
        (sum(s.shape[0] for s in strips) + padding * (len(strips) - 1), width, 3), 255, np.uint8
    )
    top = 0
    for strip in strips:
        sheet[top : top + strip.shape[0], : strip.shape[1]] = strip
        top += strip.shape[0] + padding
    return sheet


def image_psnr(targets, outputs):
    """Peak signal-to-noise ratio per example, in dB, for images in [-1, 1] (`tf.image.psnr`)."""
    import tensorflow as tf

    return tf.image.psnr(tf.cast(targets, tf.float32), tf.cast(outputs, tf.float32), max_val=2.0)


def image_ssim(targets, outputs):
    """Structural similarity per example for images in [-1, 1] (`tf.image.ssim`, 11x11 window).

    SSIM's constants scale with `max_val`, so the value equals SSIM of the same images in [0, 1].
    Images must be at least 11 pixels on each side.
    """
    import tensorflow as tf

    return tf.image.ssim(tf.cast(targets, tf.float32), tf.cast(outputs, tf.float32), max_val=2.0)


# --- range conversion (the one place that knows the model range) ---------------------------------


def to_model_range(images):
    """uint8 / uint16 images, or floats already in [-1, 1], as float32 in [-1, 1] (NumPy).

    Args:
        images: array-like `(..., H, W, C)`: uint8 [0, 255], uint16 [0, 65535], or float in
            [-1, 1].

    Returns:
        float32 array of the same shape.

    Raises:
        InputError: floats outside [-1, 1] or not finite (scale them first: x / 127.5 - 1).
    """
    from keras_styletransfer.errors import InputError

    array = np.asarray(images)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 127.5 - 1.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 32767.5 - 1.0
    array = array.astype(np.float32)
    if array.size and not np.all(np.isfinite(array)):
        raise InputError("the image holds NaN or infinite values.")
    if array.size and (array.min() < -1.0001 or array.max() > 1.0001):
        raise InputError(
            f"float images must be in [-1, 1]; these span [{array.min():.3g}, "
            f"{array.max():.3g}]. Pass uint8 images, or scale with x / 127.5 - 1."
        )
    return array


def to_model_range_tf(images):
    """uint8 (or any numeric) images in [0, 255] as float32 in [-1, 1], in TensorFlow."""
    import tensorflow as tf

    return tf.cast(images, tf.float32) / 127.5 - 1.0


def to_uint8_tf(images):
    """Float images in [-1, 1] as uint8 [0, 255], clipped and rounded, in TensorFlow."""
    import tensorflow as tf

    images = tf.clip_by_value(tf.cast(images, tf.float32), -1.0, 1.0)
    return tf.cast(tf.round((images + 1.0) * 127.5), tf.uint8)


def as_rgb_uint8(image):
    """An image for display: uint8 kept, floats read as [-1, 1] (never guessed), grey -> RGB."""
    image = np.asarray(image)
    result = image if image.dtype == np.uint8 else to_uint8(image)
    if result.ndim == 2:
        result = result[..., None]
    if result.shape[-1] == 1:
        result = np.repeat(result, 3, axis=-1)
    return result


# --- figures (matplotlib without touching its global backend) ------------------------------------


def new_figure(figsize=(6, 4), **kwargs):
    """A `matplotlib.figure.Figure` on its own Agg canvas.

    Unlike `pyplot.figure`, it changes no global state: no backend switch, no figure registry
    (nothing to close), so library code can draw in any program, GUI or notebook.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, **kwargs)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path, dpi=100):
    """Write a figure as PNG (folders created); returns the path."""
    from keras_styletransfer.files import write_atomically

    return write_atomically(path, lambda temporary: figure.savefig(temporary, dpi=dpi))
