"""Image-folder sources: every readable image under a folder, decoded and resized in tf.data."""

from __future__ import annotations

import dataclasses
import logging
import os

import tensorflow as tf

from keras_styletransfer.data.decoding import (
    decode_image_tf,
    inspect_image,
    sniff_format,
)
from keras_styletransfer.data.pipeline import check_batch_size, finish_pipeline, scale_to_unit_range
from keras_styletransfer.errors import DataSourceError, InputError

logger = logging.getLogger(__name__)

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def _is_image(path):
    """Whether a file's first bytes are a PNG, JPEG, GIF or BMP image's (content, not name)."""
    try:
        with open(path, "rb") as file:
            return sniff_format(file.read(8)) is not None
    except OSError:
        return False


def _classify(folder, recursive=True):
    """(image files, other files with an image extension, ignored files) under `folder`, each
    sorted. Images are identified by content; a non-image with an image's name (a TIFF named
    .png, a damaged file) is listed to be reported, anything else is ignored."""
    images, misnamed, ignored = [], [], []
    for root, folders, names in os.walk(folder):
        folders.sort()
        for name in sorted(names):
            path = os.path.join(root, name)
            if _is_image(path):
                images.append(path)
            elif name.lower().endswith(IMAGE_EXTENSIONS):
                misnamed.append(path)
            else:
                ignored.append(path)
        if not recursive:
            break
    return sorted(images), sorted(misnamed), sorted(ignored)


def list_image_files(folder):
    """Every file under `folder` (recursively) that is an image by content (PNG, JPEG, GIF, BMP)
    or has an image's extension, sorted; `scan_images` then refuses those that are not images.

    Raises `DataSourceError` when the folder is missing or holds no image files.
    """
    if not os.path.isdir(folder):
        raise DataSourceError(
            f"data folder {folder!r} does not exist or is not a folder; pass a folder of images "
            "(PNG, JPEG, BMP, GIF)."
        )
    images, misnamed, _ = _classify(folder)
    files = sorted(images + misnamed)
    if not files:
        raise DataSourceError(
            f"no image files ({', '.join(IMAGE_EXTENSIONS)}) found under {folder!r}."
        )
    return files


def scan_images(files):
    """Open each file's header with Pillow; return (readable files, their channel counts, skipped).

    Corrupt, truncated or non-image files are skipped with a warning that counts them, so one
    bad file never stops a run and never becomes a silently wrong image.
    """
    readable, channels, _, skipped = _scan_headers(files)
    return readable, channels, skipped


def _read_header(path):
    """(channels, (width, height)) of an image file, checked by the one decoder
    (`decoding.inspect_image`: format by content, pixel limit, complete decoding)."""
    info = inspect_image(path)
    return info.channels, (info.width, info.height)


def _scan_headers(files):
    """(readable files, channel counts, (width, height) sizes, skipped), with a counted warning."""
    readable, channels, sizes, skipped = [], [], [], []
    for path in files:
        try:
            count, size = _read_header(path)
        except InputError as error:
            skipped.append((path, str(error)))
            continue
        readable.append(path)
        channels.append(count)
        sizes.append(size)
    if skipped:
        logger.warning(
            "skipped %d unreadable file(s) of %d, e.g. %s (%s)",
            len(skipped),
            len(files),
            skipped[0][0],
            skipped[0][1],
        )
    return readable, channels, sizes, skipped


@dataclasses.dataclass(frozen=True)
class FolderScan:
    """What `scan_folder` found under a folder.

    Attributes:
        folder: str. The folder scanned.
        files: list of str. Readable image files, sorted.
        channels: list of int. Channel count of each readable file (before conversion).
        sizes: list of (width, height). Size of each readable file.
        skipped: list of (path, reason). Image files that could not be read.
        ignored: list of str. Files that are not images by content and not named as images.
    """

    folder: str
    files: list
    channels: list
    sizes: list
    skipped: list
    ignored: list


def scan_folder(folder, recursive=True, what="image folder"):
    """Find and check every image file under `folder`: non-image files are ignored and
    unreadable images skipped, each with a warning that counts them.

    Args:
        folder: str. The folder.
        recursive: bool. Also look in sub-folders. Defaults to True.
        what: str. How error messages name the folder. Defaults to "image folder".

    Returns:
        A `FolderScan`. Raises `DataSourceError` when the folder is missing, holds no image
        files, or none of them can be read.
    """
    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise DataSourceError(
            f"{what} {folder!r} does not exist or is not a folder; pass a folder of images "
            "(PNG, JPEG, BMP, GIF)."
        )
    images, misnamed, ignored = _classify(folder, recursive)
    images = sorted(images + misnamed)
    if ignored:
        logger.warning(
            "ignored %d non-image file(s) under %s (only %s are read), e.g. %s",
            len(ignored),
            folder,
            ", ".join(IMAGE_EXTENSIONS),
            ignored[0],
        )
    if not images:
        raise DataSourceError(
            f"no image files ({', '.join(IMAGE_EXTENSIONS)}) found in the {what} {folder!r}"
            + (f" ({len(ignored)} other file(s) ignored)." if ignored else ".")
        )
    readable, channels, sizes, skipped = _scan_headers(images)
    if not readable:
        raise DataSourceError(
            f"none of the {len(images)} image files in the {what} {folder!r} could be read "
            f"(e.g. {skipped[0][0]}: {skipped[0][1]})."
        )
    return FolderScan(folder, readable, channels, sizes, skipped, ignored)


def from_image_folder(
    folder,
    image_shape,
    batch_size,
    shuffle=True,
    seed=None,
    repeat=False,
    drop_remainder=True,
    convert_channels=False,
):
    """Build a `tf.data.Dataset` of image batches in [-1, 1] from a folder of image files.

    Images are resized to the model's (H, W) with area interpolation. Unreadable files are
    skipped with a counted warning. A channel count that differs from the model's is an error
    unless `convert_channels=True` (then grayscale becomes RGB by repetition, RGB becomes gray by
    luminance, and alpha is dropped).

    Args:
        folder: str. Folder searched recursively for PNG / JPEG / BMP / GIF files.
        image_shape: tuple (H, W, C). What the model takes.
        batch_size: int.
        shuffle: bool. Defaults to True.
        seed: int. Defaults to None.
        repeat: bool. Defaults to False.
        drop_remainder: bool. Defaults to True.
        convert_channels: bool. Defaults to False.

    Returns:
        A `tf.data.Dataset` of float32 batches `(batch_size, H, W, C)`.
    """
    batch_size = check_batch_size(batch_size)
    height, width, channels = (int(v) for v in image_shape)
    files, file_channels, skipped = scan_images(list_image_files(folder))
    if not files:
        raise DataSourceError(
            f"none of the {len(skipped)} image files under {folder!r} could be read (e.g. "
            f"{skipped[0][1]})"
        )
    wrong = sorted({c for c in file_channels if c != channels and not (c == 4 and channels == 3)})
    if wrong and not convert_channels:
        raise InputError(
            f"the model takes {channels}-channel images but {folder!r} holds images with "
            f"{', '.join(map(str, wrong))} channel(s); convert them, choose a preset for such "
            "images, or pass convert_channels=True (--convert-channels)."
        )
    if drop_remainder and len(files) < batch_size:
        raise InputError(
            f"only {len(files)} readable images in {folder!r} for a batch size of {batch_size}; "
            f"use a batch size of at most {len(files)}."
        )

    def load(path):
        image = decode_image_tf(tf.io.read_file(path), channels)
        image = tf.image.resize(image, (height, width), method="area")
        return scale_to_unit_range(image / 255.0)

    dataset = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(load, num_parallel_calls=tf.data.AUTOTUNE)
    return finish_pipeline(dataset, batch_size, False, seed, repeat, 1, drop_remainder)


def _to_channels(image, channels):
    """Convert a decoded uint8 image with 1-4 channels to `channels` channels."""
    present = tf.shape(image)[-1]
    image = tf.cond(present >= 3, lambda: image[..., :3], lambda: image[..., :1])
    image = tf.ensure_shape(image, [None, None, None])
    if channels == 3:
        return tf.cond(
            tf.shape(image)[-1] == 1,
            lambda: tf.image.grayscale_to_rgb(image),
            lambda: image,
        )
    return tf.cond(
        tf.shape(image)[-1] == 3,
        lambda: tf.cast(tf.round(tf.image.rgb_to_grayscale(tf.cast(image, tf.float32))), tf.uint8),
        lambda: image,
    )
