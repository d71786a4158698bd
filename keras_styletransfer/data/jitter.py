"""Shared pieces of the translation pipelines (`data.translation`): argument checks, image
decoding, resizing and the pix2pix / CycleGAN jitter as graph functions, and seed streams.

Every training image is resized to `load_size`, randomly cropped to `crop_size` and randomly
flipped; a pair is jittered as one stacked image so both get the same crop and flip. Pixels come
out as float32 in [-1, 1].
"""

from __future__ import annotations

import logging
import os

import tensorflow as tf

from keras_styletransfer.data.decoding import decode_image_tf
from keras_styletransfer.data.folders import _to_channels
from keras_styletransfer.errors import DataSourceError, InputError
from keras_styletransfer.images import to_model_range_tf

logger = logging.getLogger("keras_styletransfer.data.translation")


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _check_sizes(load_size, crop_size):
    for name, value in (("load_size", load_size), ("crop_size", crop_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{name} must be a positive integer; received {value!r}.")
    if load_size < crop_size:
        raise InputError(
            f"load_size ({load_size}) must be at least crop_size ({crop_size}): images are "
            "resized to load_size, then randomly cropped to crop_size (pix2pix: 286 -> 256)."
        )
    return int(load_size), int(crop_size)


def _check_choice(value, name, choices):
    if value not in choices:
        raise InputError(
            f"{name} must be one of {', '.join(repr(c) for c in choices)}; received {value!r}."
        )
    return value


def _check_small(paths, sizes, crop_size, allow_upscale, what):
    """Warn (or, with allow_upscale=False, raise) for images smaller than the crop."""
    small = [
        path
        for path, (width, height) in zip(paths, sizes, strict=True)
        if min(width, height) < crop_size
    ]
    if not small:
        return
    if not allow_upscale:
        raise InputError(
            f"{len(small)} image(s) in {what} are smaller than crop_size={crop_size}, e.g. "
            f"{small[0]}; use larger images, a smaller crop_size, or allow_upscale=True "
            "(resize them up)."
        )
    logger.warning(
        "%d image(s) in %s are smaller than crop_size=%d and are resized up, e.g. %s",
        len(small),
        what,
        crop_size,
        small[0],
    )


def _check_enough(count, batch_size, drop_remainder, what):
    if drop_remainder and count < batch_size:
        raise InputError(
            f"only {count} example(s) in {what} for a batch size of {batch_size}; use a batch "
            f"size of at most {count} or add images."
        )


def _require_subfolders(root, names, layout):
    """Raise `DataSourceError` naming the sub-folders of `root` that are missing."""
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataSourceError(
            f"data folder {root!r} does not exist or is not a folder; expected the layout {layout}."
        )
    missing = [name for name in names if not os.path.isdir(os.path.join(root, name))]
    if missing:
        present = sorted(
            entry for entry in os.listdir(root) if os.path.isdir(os.path.join(root, entry))
        )
        raise DataSourceError(
            f"{root!r} lacks the sub-folder(s) {', '.join(missing)}; expected the layout "
            f"{layout}. Sub-folders found: {', '.join(present) if present else 'none'}."
        )


# --------------------------------------------------------------------------------------------
# Decoding, resizing and jitter (graph functions)
# --------------------------------------------------------------------------------------------


def decode_rgb(path):
    """Read and decode an image file to RGB uint8 `(H, W, 3)` (gray, alpha, palette and 16-bit
    converted as `decoding.read_image` converts them), in TensorFlow."""
    return tf.ensure_shape(decode_image_tf(tf.io.read_file(path), 3), [None, None, 3])


def _as_rgb(image):
    return tf.ensure_shape(_to_channels(image, 3), [None, None, 3])


def _to_unit_range(image):
    """float pixels in [0, 255] -> float32 in [-1, 1]."""
    return to_model_range_tf(tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 255.0))


def _resize(image, size, mode):
    """Resize to `size x size` ("stretch") or to short side `size` ("short_side"); float32."""
    if mode == "stretch":
        shape = tf.constant([size, size])
    else:
        height_width = tf.cast(tf.shape(image)[:2], tf.float64)
        scale = size / tf.reduce_min(height_width)
        shape = tf.maximum(tf.cast(tf.round(height_width * scale), tf.int32), size)
    return tf.image.resize(image, shape, method="bilinear", antialias=True)


def _jitter(image, seeds, crop_size):
    """Random crop to crop_size, then random horizontal flip, of a resized image or of a
    channel-stacked pair (which then shares the crop and the flip)."""
    channels = image.shape[-1]
    image = tf.image.stateless_random_crop(image, [crop_size, crop_size, channels], seeds[0])
    return tf.image.stateless_random_flip_left_right(image, seeds[1])


def _fit(image, crop_size, mode):
    """Resize straight to crop_size (and centre-crop, for "short_side"): no randomness."""
    image = _resize(image, crop_size, mode)
    return tf.image.resize_with_crop_or_pad(image, crop_size, crop_size)


def _make_transform(load_size, crop_size, mode, augment):
    """A function (image, seeds) -> float32 [-1, 1] image of crop_size x crop_size."""

    def transform(image, seeds):
        if augment:
            image = _jitter(_resize(image, load_size, mode), seeds, crop_size)
        else:
            image = _fit(image, crop_size, mode)
        return _to_unit_range(image)

    return transform


def _make_pair_transform(load_size, crop_size, mode, augment):
    """Like `_make_transform` for (source, target): the target is resized to the source's shape
    and the two are cropped and flipped as one 6-channel image."""

    def transform(source, target, seeds):
        size = load_size if augment else crop_size
        source = _resize(source, size, mode)
        target = tf.image.resize(target, tf.shape(source)[:2], method="bilinear", antialias=True)
        stacked = tf.concat([source, target], axis=-1)
        if augment:
            stacked = _jitter(stacked, seeds, crop_size)
        else:
            stacked = tf.image.resize_with_crop_or_pad(stacked, crop_size, crop_size)
        stacked = _to_unit_range(stacked)
        return stacked[..., :3], stacked[..., 3:]

    return transform


def _seed_stream(seed, count=2):
    """Per-example stateless-op seeds `(count, 2)` int64: deterministic for a given seed, and
    different in every epoch."""
    stream = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True)
    return stream.batch(2 * count).map(lambda values: tf.reshape(values, [count, 2]))


def _sub_seed(seed, offset):
    return None if seed is None else int(seed) * 7919 + offset


def _finish(dataset, batch_size, repeat, drop_remainder):
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    if repeat:
        dataset = dataset.repeat()
    return dataset.prefetch(tf.data.AUTOTUNE)
