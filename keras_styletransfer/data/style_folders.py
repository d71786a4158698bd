"""Folder sources by style, for training and inference.

- `from_style_folders`: one sub-folder per style -> (image, style_index) batches with the
  translation jitter (`data.jitter`), and the style names.
- `from_single_folder`: any folder, for inference -> file paths and images at native size.
"""

from __future__ import annotations

import os

import tensorflow as tf

from keras_styletransfer.data.folders import scan_folder
from keras_styletransfer.data.jitter import (
    _check_enough,
    _check_small,
    _finish,
    _make_transform,
    _seed_stream,
    _sub_seed,
    _to_unit_range,
    decode_rgb,
)
from keras_styletransfer.data.options import PipelineOptions
from keras_styletransfer.data.translation import logger
from keras_styletransfer.errors import DataSourceError


def _style_subfolders(root):
    layout = "root/<style name>/<images>: one sub-folder per style"
    root = os.fspath(root)
    if not os.path.isdir(root):
        raise DataSourceError(
            f"style folder {root!r} does not exist or is not a folder; expected the layout "
            f"{layout}."
        )
    entries = sorted(os.listdir(root))
    names = [e for e in entries if os.path.isdir(os.path.join(root, e)) and not e.startswith(".")]
    loose = [e for e in entries if os.path.isfile(os.path.join(root, e))]
    if not names:
        raise DataSourceError(
            f"{root!r} has no sub-folders; expected the layout {layout} (e.g. {root}/monet/, "
            f"{root}/ukiyoe/)" + (f"; it holds {len(loose)} loose file(s)." if loose else ".")
        )
    if loose:
        logger.warning(
            "ignored %d file(s) directly in %s: style images belong in one sub-folder per "
            "style, e.g. %s",
            len(loose),
            root,
            loose[0],
        )
    return root, names


def from_style_folders(root, balance=True, options=None, **overrides):
    """A `tf.data.Dataset` of (image, style_index) batches from one sub-folder per style.

    Style indices follow the sorted sub-folder names, which are returned with the dataset
    (`root/cartoon/`, `root/pencil/` -> 0 = "cartoon", 1 = "pencil"). A sub-folder without a
    readable image is an error; files directly in `root` are ignored with a counted warning.

    Args:
        root: str. The folder of style sub-folders.
        balance: bool. Draw every style equally often (each style's images are repeated as
            needed), so a style with few images is not drowned out; else every image once per
            epoch. An epoch has as many examples as there are images either way.
            Defaults to True.
        options, **overrides: as in `from_paired_folder` (augment and shuffle default to True).

    Returns:
        `(dataset, style_names)`: batches `(images float32 (batch, crop, crop, 3) in [-1, 1],
        style_indices int32 (batch,))`, and the list of style names in index order.
    """
    options = PipelineOptions.from_arguments(options, **overrides).for_training()
    seed, shuffle = options.seed, options.shuffle
    root, names = _style_subfolders(root)
    per_style = []
    for name in names:
        scan = scan_folder(os.path.join(root, name), what="style folder")
        _check_small(
            scan.files,
            scan.sizes,
            options.crop_size,
            options.allow_upscale,
            f"style folder {name!r}",
        )
        per_style.append(scan.files)
    total = sum(len(files) for files in per_style)
    _check_enough(total, options.batch_size, options.drop_remainder, f"{root!r}")
    streams = []
    for index, files in enumerate(per_style):
        stream = tf.data.Dataset.from_tensor_slices(
            (files, tf.fill([len(files)], tf.constant(index, tf.int32)))
        )
        if shuffle:
            stream = stream.shuffle(
                len(files), seed=_sub_seed(seed, 20 + index), reshuffle_each_iteration=True
            )
        streams.append(stream)
    if balance and len(streams) > 1:
        dataset = tf.data.Dataset.sample_from_datasets(
            [stream.repeat() for stream in streams],
            weights=[1.0 / len(streams)] * len(streams),
            seed=_sub_seed(seed, 3),
            rerandomize_each_iteration=True,
        ).take(total)
    else:
        dataset = streams[0]
        for stream in streams[1:]:
            dataset = dataset.concatenate(stream)
        if shuffle:
            dataset = dataset.shuffle(total, seed=_sub_seed(seed, 4), reshuffle_each_iteration=True)
    transform = _make_transform(
        options.load_size, options.crop_size, options.resize, options.augment
    )

    def prepare(item, seeds):
        path, index = item
        return transform(decode_rgb(path), seeds), index

    dataset = tf.data.Dataset.zip((dataset, _seed_stream(_sub_seed(seed, 5))))
    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = _finish(dataset, options.batch_size, options.repeat, options.drop_remainder)
    return dataset, list(names)


def from_single_folder(folder, recursive=False):
    """Every readable image of a folder at its native size, for inference (no crop, no resize).

    Args:
        folder: str. The folder of images.
        recursive: bool. Also read sub-folders. Defaults to False.

    Returns:
        `(paths, dataset)`: the readable image files, sorted, and an unbatched
        `tf.data.Dataset` of float32 `(H, W, 3)` images in [-1, 1], in the same order (sizes
        differ, so batch with care, e.g. one image at a time).
    """
    scan = scan_folder(folder, recursive=recursive, what="image folder")
    dataset = tf.data.Dataset.from_tensor_slices(scan.files)
    dataset = dataset.map(
        lambda path: _to_unit_range(decode_rgb(path)), num_parallel_calls=tf.data.AUTOTUNE
    )
    return list(scan.files), dataset.prefetch(tf.data.AUTOTUNE)
