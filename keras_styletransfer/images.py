"""Turning image batches in [-1, 1] into pictures for people: grids and PNG files."""

from __future__ import annotations

import math
import os

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
    """Write a uint8 `(H, W, C)` image (C = 1 or 3) as PNG, enlarged `scale` times (nearest).

    Returns:
        The path written.
    """
    from PIL import Image

    image = np.asarray(image)
    if scale > 1:
        image = image.repeat(scale, axis=0).repeat(scale, axis=1)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def save_image_grid(images, path, columns=None, min_tile_size=84):
    """Save a batch in [-1, 1] as one PNG grid, enlarging small images so digits are legible.

    Returns:
        The path written.
    """
    tiles = to_uint8(images)
    scale = max(1, math.ceil(min_tile_size / tiles.shape[1]))
    return save_png(tile_images(tiles, columns=columns), path, scale=scale)


# --- image quality (TensorFlow) ------------------------------------------------------------

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
