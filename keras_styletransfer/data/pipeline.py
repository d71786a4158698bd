"""tf.data pipelines from NumPy arrays, with the scaling and validation every source shares."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from keras_styletransfer.errors import InputError
from keras_styletransfer.images import to_model_range_tf


def check_batch_size(batch_size):
    """Return `batch_size` if it is a positive integer, else raise `InputError`."""
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int | np.integer)
        or batch_size < 1
    ):
        raise InputError(f"batch size must be a positive integer; received {batch_size!r}.")
    return int(batch_size)


def scale_to_unit_range(images):
    """Map uint8 pixels [0, 255] (or floats already in [0, 1]) to float32 in [-1, 1].

    Args:
        images: tensor. uint8 images, or float images in [0, 1].

    Returns:
        A float32 tensor in [-1, 1].
    """
    images = tf.convert_to_tensor(images)
    if images.dtype == tf.uint8:
        return to_model_range_tf(images)
    if images.dtype == tf.uint16:
        return tf.cast(images, tf.float32) / 32767.5 - 1.0
    return tf.cast(images, tf.float32) * 2.0 - 1.0


def check_image_array(images, image_shape=None):
    """Validate an array of images and return it as (N, H, W, C).

    Args:
        images: array-like. (N, H, W, C), or (N, H, W) for single-channel images.
        image_shape: tuple (H, W, C) the model takes. Defaults to None (any).

    Returns:
        A NumPy array (N, H, W, C).
    """
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., np.newaxis]
    if images.ndim != 4:
        raise InputError(
            f"images must be an array of shape (N, H, W, C) or (N, H, W); received shape "
            f"{images.shape}."
        )
    if images.shape[0] == 0:
        raise InputError("the image array is empty (0 images); provide at least one batch.")
    if image_shape is not None and tuple(images.shape[1:]) != tuple(image_shape):
        height, width, channels = image_shape
        raise InputError(
            f"the model takes images of shape {tuple(image_shape)} (H, W, C) but the data has "
            f"{tuple(images.shape[1:])}; resize to {height}x{width} with {channels} channel(s), "
            "or choose a preset built for your images."
        )
    if images.dtype.kind == "f":
        if not np.all(np.isfinite(images)):
            raise InputError("the image array contains NaN or infinite values.")
        low, high = float(images.min()), float(images.max())
        if low < 0.0 or high > 1.0:
            raise InputError(
                f"float images must be in [0, 1] (they are scaled to [-1, 1] here); received "
                f"values in [{low:.3g}, {high:.3g}]. Pass uint8 pixels or divide by 255."
            )
    elif images.dtype not in (np.uint8, np.uint16):
        raise InputError(
            f"images must be uint8, uint16 or float in [0, 1]; received dtype {images.dtype}."
        )
    return images


def finish_pipeline(dataset, batch_size, shuffle, seed, repeat, shuffle_buffer, drop_remainder):
    """Shuffle, repeat, batch and prefetch a dataset of single images."""
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    return dataset.prefetch(tf.data.AUTOTUNE)


def from_arrays(
    images,
    batch_size,
    image_shape=None,
    shuffle=True,
    seed=None,
    repeat=False,
    drop_remainder=True,
):
    """Build a `tf.data.Dataset` of image batches in [-1, 1] from a NumPy array.

    Args:
        images: array-like. uint8 (N, H, W, C) or (N, H, W), or floats in [0, 1].
        batch_size: int. Images per batch.
        image_shape: tuple (H, W, C). Checked against the data when given. Defaults to None.
        shuffle: bool. Reshuffle every epoch. Defaults to True.
        seed: int. Shuffle seed. Defaults to None.
        repeat: bool. Repeat forever (use with `steps_per_epoch`). Defaults to False.
        drop_remainder: bool. Drop a last partial batch (keeps every batch the same size, which
            a distributed step needs). Defaults to True.

    Returns:
        A `tf.data.Dataset` yielding float32 batches `(batch_size, H, W, C)`.
    """
    batch_size = check_batch_size(batch_size)
    images = check_image_array(images, image_shape)
    if drop_remainder and len(images) < batch_size:
        raise InputError(
            f"only {len(images)} images for a batch size of {batch_size}; use a batch size of at "
            f"most {len(images)} or add images."
        )
    dataset = tf.data.Dataset.from_tensor_slices(images)
    dataset = dataset.map(scale_to_unit_range, num_parallel_calls=tf.data.AUTOTUNE)
    return finish_pipeline(
        dataset, batch_size, shuffle, seed, repeat, min(len(images), 10_000), drop_remainder
    )


def load_arrays(path, mmap_mode=None):
    """Images from a .npy file, or from the array named 'images' (else the only one) in a .npz."""
    try:
        loaded = np.load(path, allow_pickle=False, mmap_mode=mmap_mode)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read {path!r} as a NumPy file: {error}") from None
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        names = list(loaded.keys())
        if "images" in names:
            return loaded["images"]
        if len(names) == 1:
            return loaded[names[0]]
    raise InputError(
        f"{path!r} holds arrays {names}; name the images array 'images' "
        "(np.savez(path, images=...))."
    )
