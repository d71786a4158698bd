"""Differentiable augmentation (DiffAugment) for training a discriminator on little data.

With a few thousand images a discriminator memorises the real set and stops giving the generator
a useful gradient (the GAN collapses). DiffAugment applies the same random, differentiable
transformations to real *and* generated images every time D sees them, in D's step and in G's,
so D cannot memorise and G's gradient passes through the transformation.

References:
    Zhao, Liu, Lin, Zhu, Han, "Differentiable Augmentation for Data-Efficient GAN Training",
    NeurIPS 2020.
"""

from __future__ import annotations

import keras
import tensorflow as tf

POLICIES = ("translation", "cutout")


def check_policies(policies):
    """Return `policies` as a tuple of known names, or raise a ValueError listing them."""
    if policies is None:
        return ()
    if isinstance(policies, str):
        policies = tuple(p for p in policies.replace(",", " ").split() if p)
    policies = tuple(policies)
    unknown = [p for p in policies if p not in POLICIES]
    if unknown:
        raise ValueError(
            f"Unknown augmentation {unknown[0]!r}; choose from: {', '.join(POLICIES)}."
        )
    return policies


def random_translation(images, fraction, seed, fill_value=0.0):
    """Shift each image by up to `fraction` of its size in x and y, filling with `fill_value`.

    Args:
        images: tensor `(batch, H, W, C)`.
        fraction: float. Largest shift as a fraction of the side. DiffAugment uses 1/8.
        seed: keras.random.SeedGenerator.
        fill_value: float. Value of the uncovered border. Defaults to 0.

    Returns:
        Tensor of the same shape; gradients flow to the moved pixels.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    pad_y = tf.cast(tf.round(tf.cast(height, tf.float32) * fraction), tf.int32)
    pad_x = tf.cast(tf.round(tf.cast(width, tf.float32) * fraction), tf.int32)
    shift_y = keras.random.randint((batch, 1, 1), -pad_y, pad_y + 1, seed=seed)
    shift_x = keras.random.randint((batch, 1, 1), -pad_x, pad_x + 1, seed=seed)
    padded = tf.pad(
        images, [[0, 0], [pad_y, pad_y], [pad_x, pad_x], [0, 0]], constant_values=fill_value
    )
    rows = tf.range(height)[tf.newaxis, :, tf.newaxis] + pad_y - shift_y  # (batch, H, 1)
    columns = tf.range(width)[tf.newaxis, tf.newaxis, :] + pad_x - shift_x  # (batch, 1, W)
    rows = tf.broadcast_to(rows, [batch, height, width])
    columns = tf.broadcast_to(columns, [batch, height, width])
    example = tf.broadcast_to(tf.range(batch)[:, tf.newaxis, tf.newaxis], [batch, height, width])
    return tf.gather_nd(padded, tf.stack([example, rows, columns], axis=-1))


def random_cutout(images, fraction, seed, fill_value=0.0):
    """Set one random square of side `fraction` * size in each image to `fill_value`.

    Args:
        images: tensor `(batch, H, W, C)`.
        fraction: float. Side of the square relative to the image. DiffAugment uses 1/2.
        seed: keras.random.SeedGenerator.
        fill_value: float. Defaults to 0.

    Returns:
        Tensor of the same shape.
    """
    shape = tf.shape(images)
    batch, height, width = shape[0], shape[1], shape[2]
    size_y = tf.cast(tf.round(tf.cast(height, tf.float32) * fraction), tf.int32)
    size_x = tf.cast(tf.round(tf.cast(width, tf.float32) * fraction), tf.int32)
    centre_y = keras.random.randint((batch, 1, 1), 0, height, seed=seed)
    centre_x = keras.random.randint((batch, 1, 1), 0, width, seed=seed)
    rows = tf.range(height)[tf.newaxis, :, tf.newaxis]
    columns = tf.range(width)[tf.newaxis, tf.newaxis, :]
    inside = (
        (rows >= centre_y - size_y // 2)
        & (rows < centre_y - size_y // 2 + size_y)
        & (columns >= centre_x - size_x // 2)
        & (columns < centre_x - size_x // 2 + size_x)
    )
    keep = tf.cast(~inside, images.dtype)[..., tf.newaxis]
    return images * keep + fill_value * (1.0 - keep)


def diff_augment(images, policies, seed):
    """Apply each policy in order ("translation": 1/8 shift, "cutout": 1/2 square).

    Args:
        images: tensor `(batch, H, W, C)` in [-1, 1].
        policies: tuple of str. Names from `POLICIES`.
        seed: keras.random.SeedGenerator.

    Returns:
        The augmented images.
    """
    for policy in policies:
        if policy == "translation":
            images = random_translation(images, 0.125, seed)
        elif policy == "cutout":
            images = random_cutout(images, 0.5, seed)
    return images
