"""tf.data pipelines for image-to-image translation, from the folder layouts users have.

- `from_paired_folder`: pairs for pix2pix, `A|B` side by side in one file (the pix2pix
  datasets) or two folders `A/`, `B/` with matching file names -> (source, target).
- `from_unpaired_folder`: the CycleGAN layout `trainA/ trainB/ testA/ testB/` -> (a, b), the
  two drawn independently.
- `from_tfds_cycle_gan`: TFDS `cycle_gan/<config>`, prepared locally -> (a, b).
- `from_style_folders` / `from_single_folder` (`data.style_folders`): one sub-folder per
  style -> (image, style_index); any folder for inference.

Every training image goes through the pix2pix / CycleGAN jitter, inside tf.data: resize to
`load_size` (286), random crop to `crop_size` (256), random horizontal flip. A pair is jittered
as one stacked image `(H, W, 6)`, so source and target get the same crop and the same flip.
With `augment=False` (the default for test splits) an image is resized straight to
`crop_size`. Pixels come out as float32 in [-1, 1]. With a `seed` the whole pipeline
(shuffles, pairings and jitter) is deterministic, and still different in every epoch.

Input handling, the same for every folder source:
- Files whose extension is not .png / .jpg / .jpeg / .bmp / .gif are ignored, and counted in
  a warning; corrupt or truncated images are skipped, and counted in a warning; no readable
  image left is a `DataSourceError`.
- Grayscale images become RGB (the gray value repeated), RGBA / LA lose their alpha channel,
  palette images are expanded, and 16-bit PNGs are scaled to 8 bits (value // 256): every
  image enters the model as RGB 8-bit.
- Images smaller than `crop_size` are resized up (as every image is resized to `load_size`),
  with a warning that counts them; `allow_upscale=False` makes them an error instead.
- `resize="stretch"` (the default, as pix2pix and CycleGAN) resizes to `load_size x load_size`
  whatever the aspect; `resize="short_side"` keeps the aspect (short side to `load_size`).
"""

from __future__ import annotations

import logging
import os

import tensorflow as tf

from keras_styletransfer.data.folders import scan_folder
from keras_styletransfer.data.jitter import (
    _as_rgb,
    _check_choice,
    _check_enough,
    _check_small,
    _finish,
    _make_pair_transform,
    _make_transform,
    _require_subfolders,
    _seed_stream,
    _sub_seed,
    decode_rgb,
)
from keras_styletransfer.data.options import PipelineOptions
from keras_styletransfer.data.tfds_source import default_tfds_dir, prepared_builder
from keras_styletransfer.errors import DataSourceError, InputError

logger = logging.getLogger(__name__)

PAIRED_LAYOUTS = ("side_by_side", "two_folders")
CYCLE_GAN_CONFIGS = (
    "apple2orange",
    "summer2winter_yosemite",
    "horse2zebra",
    "monet2photo",
    "cezanne2photo",
    "ukiyoe2photo",
    "vangogh2photo",
    "maps",
    "cityscapes",
    "facades",
    "iphone2dslr_flower",
)
_UNPAIRED_LAYOUT = "root/trainA, root/trainB, root/testA, root/testB (as TFDS cycle_gan)"


# --------------------------------------------------------------------------------------------
# Paired folders
# --------------------------------------------------------------------------------------------


def _side_by_side_pairs(folder, check_aspect, crop_size, allow_upscale):
    scan = scan_folder(folder, what="paired (side-by-side) folder")
    odd = [(p, s) for p, s in zip(scan.files, scan.sizes, strict=True) if s[0] % 2]
    if odd:
        path, (width, height) = odd[0]
        raise InputError(
            f"{len(odd)} side-by-side image(s) in {folder!r} have an odd width, so they cannot "
            f"be split into two equal halves A|B, e.g. {path} ({width}x{height}); crop one "
            "column or check that the folder holds pix2pix-style pairs."
        )
    if check_aspect:
        wrong = [(p, s) for p, s in zip(scan.files, scan.sizes, strict=True) if s[0] != 2 * s[1]]
        if wrong:
            path, (width, height) = wrong[0]
            raise InputError(
                f"{len(wrong)} image(s) in {folder!r} are not two square halves side by side "
                f"(width = 2 x height), e.g. {path} ({width}x{height}). A side-by-side pair is "
                "A|B in one file, as in the pix2pix datasets; for two folders A/ and B/ pass "
                "layout='two_folders', and for halves that are not square pass "
                "check_aspect=False."
            )
    halves = [(width // 2, height) for width, height in scan.sizes]
    _check_small(scan.files, halves, crop_size, allow_upscale, f"{folder!r}")

    def load(path):
        image = decode_rgb(path)
        half = tf.shape(image)[1] // 2
        return image[:, :half], image[:, half:]

    return scan.files, load


def _stem(folder, path):
    return os.path.splitext(os.path.relpath(path, folder))[0]


def _two_folder_pairs(folder, folder_names, crop_size, allow_upscale):
    first, second = folder_names
    layout = f"{folder}/{first}/ and {folder}/{second}/, holding files with matching names"
    _require_subfolders(folder, folder_names, layout)
    scans = [scan_folder(os.path.join(folder, name), what="paired folder") for name in folder_names]
    by_stem = []
    for scan in scans:
        stems = {}
        for path in [*scan.files, *(p for p, _ in scan.skipped)]:
            stem = _stem(scan.folder, path)
            if stem in stems:
                raise InputError(
                    f"two files in {scan.folder!r} share the name {stem!r} "
                    f"({stems[stem]} and {path}); pairs are matched by file name without "
                    "extension, so rename one."
                )
            stems[stem] = path
        by_stem.append(stems)
    only = [sorted(set(by_stem[i]) - set(by_stem[1 - i])) for i in (0, 1)]
    for i in (0, 1):
        if only[i]:
            logger.warning(
                "%d file(s) in %s have no match in %s and are left out, e.g. %s",
                len(only[i]),
                folder_names[i],
                folder_names[1 - i],
                ", ".join(only[i][:3]),
            )
    readable = [{_stem(s.folder, p): p for p in s.files} for s in scans]
    common = sorted(set(readable[0]) & set(readable[1]))
    dropped = len(set(by_stem[0]) & set(by_stem[1])) - len(common)
    if dropped:
        logger.warning("left out %d pair(s) with an unreadable side", dropped)
    if not common:
        raise DataSourceError(
            f"no file name appears in both {folder_names[0]}/ and {folder_names[1]}/ of "
            f"{folder!r} ({len(only[0])} only in {folder_names[0]}, {len(only[1])} only in "
            f"{folder_names[1]}); pairs are matched by file name without extension."
        )
    sizes = {}
    for scan in scans:
        sizes.update(zip(scan.files, scan.sizes, strict=True))
    pairs = [(readable[0][stem], readable[1][stem]) for stem in common]
    flat = [path for pair in pairs for path in pair]
    _check_small(flat, [sizes[p] for p in flat], crop_size, allow_upscale, f"{folder!r}")

    def load(paths):
        return decode_rgb(paths[0]), decode_rgb(paths[1])

    return [list(pair) for pair in pairs], load


def from_paired_folder(
    folder,
    layout="side_by_side",
    direction="AtoB",
    folder_names=("A", "B"),
    check_aspect=True,
    options=None,
    **overrides,
):
    """A `tf.data.Dataset` of (source, target) batches from paired images, for pix2pix.

    Layouts:
    - "side_by_side": each file holds A|B side by side (the pix2pix datasets: facades, maps,
      edges2shoes, ...), split in the middle. An odd width is an error; so is a width that
      is not twice the height, unless `check_aspect=False`.
    - "two_folders": `folder/A/` and `folder/B/` (see `folder_names`), pairs matched by file
      name without extension (`A/x.jpg` with `B/x.png`). Names present on one side only are
      left out with a counted warning.

    The jitter crops and flips A and B identically (see the module docstring).

    Args:
        folder: str. The folder of pairs.
        layout: str. "side_by_side" or "two_folders". Defaults to "side_by_side".
        direction: str. "AtoB" yields (A, B); "BtoA" yields (B, A). Defaults to "AtoB".
        folder_names: (str, str). The two sub-folders for "two_folders". Defaults to ("A", "B").
        check_aspect: bool. Require side-by-side files of width 2 x height. Defaults to True.
        options: PipelineOptions. Sizes, jitter, shuffling and batching (augment and shuffle
            default to True). Defaults to None (the defaults).
        **overrides: fields of `PipelineOptions` (load_size, crop_size, batch_size, augment,
            shuffle, seed, repeat, drop_remainder, resize, allow_upscale), overriding `options`.

    Returns:
        A `tf.data.Dataset` of `(source, target)`, each float32 `(batch, crop, crop, 3)` in
        [-1, 1].

    Example:
        >>> pairs = from_paired_folder("facades/train", direction="BtoA", seed=0)
        >>> pix2pix.fit(pairs, epochs=200)
    """
    options = PipelineOptions.from_arguments(options, **overrides).for_training()
    _check_choice(layout, "layout", PAIRED_LAYOUTS)
    _check_choice(direction, "direction", ("AtoB", "BtoA"))
    crop_size, allow_upscale = options.crop_size, options.allow_upscale
    folder = os.fspath(folder)
    if layout == "side_by_side":
        items, load = _side_by_side_pairs(folder, check_aspect, crop_size, allow_upscale)
    else:
        if len(folder_names) != 2 or folder_names[0] == folder_names[1]:
            raise InputError(
                f"folder_names must be two different names; received {folder_names!r}."
            )
        items, load = _two_folder_pairs(folder, tuple(folder_names), crop_size, allow_upscale)
    _check_enough(len(items), options.batch_size, options.drop_remainder, f"{folder!r}")
    transform = _make_pair_transform(options.load_size, crop_size, options.resize, options.augment)
    swap = direction == "BtoA"

    def prepare(item, seeds):
        source, target = load(item)
        if swap:
            source, target = target, source
        return transform(source, target, seeds)

    dataset = tf.data.Dataset.from_tensor_slices(items)
    if options.shuffle:
        dataset = dataset.shuffle(len(items), seed=options.seed, reshuffle_each_iteration=True)
    dataset = tf.data.Dataset.zip((dataset, _seed_stream(_sub_seed(options.seed, 1))))
    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, options.batch_size, options.repeat, options.drop_remainder)


# --------------------------------------------------------------------------------------------
# Unpaired (CycleGAN) sources
# --------------------------------------------------------------------------------------------


def _unpaired(streams, counts, load, options, what):
    """Zip two independently shuffled, repeated streams of items (file paths or encoded images,
    small in the shuffle buffers), then `load` (decode to RGB uint8) and jitter each image on
    its own; one epoch = max(len A, len B) pairs (as the CycleGAN reference implementation).
    `options` is a `PipelineOptions` resolved for its split."""
    _check_enough(max(counts), options.batch_size, options.drop_remainder, what)
    seed = options.seed
    transform = _make_transform(
        options.load_size, options.crop_size, options.resize, options.augment
    )
    repeated = []
    for index, (stream, count) in enumerate(zip(streams, counts, strict=True)):
        if options.shuffle:
            stream = stream.shuffle(
                min(count, options.shuffle_buffer or count),
                seed=_sub_seed(seed, 10 + index),
                reshuffle_each_iteration=True,
            )
        repeated.append(stream.repeat())
    dataset = tf.data.Dataset.zip(tuple(repeated)).take(max(counts))
    dataset = tf.data.Dataset.zip((dataset, _seed_stream(_sub_seed(seed, 2), count=4)))

    def prepare(images, seeds):
        return transform(load(images[0]), seeds[:2]), transform(load(images[1]), seeds[2:])

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, options.batch_size, options.repeat, options.drop_remainder)


def _unpaired_options(split, options, overrides):
    """The options of an unpaired loader, `augment` and `shuffle` resolved for `split`."""
    options = PipelineOptions.from_arguments(options, **overrides)
    if not isinstance(split, str) or not split:
        raise InputError(f"split must be a name such as 'train' or 'test'; received {split!r}.")
    return options.for_training(split == "train")


def from_unpaired_folder(root, split="train", options=None, **overrides):
    """A `tf.data.Dataset` of unpaired (a, b) batches from the CycleGAN folder layout.

    `root/trainA`, `root/trainB`, `root/testA`, `root/testB` (the layout of the CycleGAN
    datasets and of TFDS `cycle_gan`); `split` picks `<split>A` and `<split>B`. The two domains
    are shuffled and repeated independently and zipped, so every epoch pairs images afresh; an
    epoch has max(len A, len B) pairs.

    Args:
        root: str. The folder holding `<split>A` and `<split>B`.
        split: str. "train" or "test" (any `<split>A` / `<split>B` pair). Defaults to "train".
        options: PipelineOptions. Sizes, jitter, shuffling and batching (augment and shuffle
            default to True for "train" only). Defaults to None (the defaults).
        **overrides: fields of `PipelineOptions` (load_size, crop_size, batch_size, augment,
            shuffle, seed, repeat, drop_remainder, resize, allow_upscale, shuffle_buffer),
            overriding `options`.

    Returns:
        A `tf.data.Dataset` of `(a, b)`, each float32 `(batch, crop, crop, 3)` in [-1, 1].

    Example:
        >>> pairs = from_unpaired_folder("horse2zebra", seed=0)
        >>> cyclegan.fit(pairs, epochs=200)
    """
    options = _unpaired_options(split, options, overrides)
    root = os.fspath(root)
    names = (f"{split}A", f"{split}B")
    _require_subfolders(root, names, _UNPAIRED_LAYOUT)
    streams, counts = [], []
    for name in names:
        scan = scan_folder(os.path.join(root, name), what="domain folder")
        _check_small(scan.files, scan.sizes, options.crop_size, options.allow_upscale, f"{name}/")
        streams.append(tf.data.Dataset.from_tensor_slices(scan.files))
        counts.append(len(scan.files))
    return _unpaired(streams, counts, decode_rgb, options, f"{root!r}")


def cycle_gan_name(name):
    """The TFDS name for `name`: a bare CycleGAN config ("horse2zebra") becomes
    "cycle_gan/horse2zebra"; any other name is kept (a builder with the same splits)."""
    if not isinstance(name, str) or not name.strip():
        raise InputError(
            f"expected a TFDS name such as 'cycle_gan/horse2zebra'; received {name!r}."
        )
    name = name.strip()
    return f"cycle_gan/{name}" if name in CYCLE_GAN_CONFIGS else name


def from_tfds_cycle_gan(
    name, data_dir=None, split="train", image_key="image", options=None, **overrides
):
    """Unpaired (a, b) batches from a locally prepared TFDS `cycle_gan/<config>` dataset.

    The local data directory is checked first (`prepared_builder`): a dataset that is not
    prepared there is a `DataSourceError` at once, saying how to provide it, never a download.
    Any builder with the splits `<split>A` / `<split>B` and an image feature works the same.

    Args:
        name: str. "cycle_gan/horse2zebra", or just "horse2zebra" (see `CYCLE_GAN_CONFIGS`).
        data_dir: str. Defaults to `$TFDS_DATA_DIR` or `~/tensorflow_datasets`.
        split: str. "train" or "test". Defaults to "train".
        image_key: str. The image feature. Defaults to "image".
        options, **overrides: as in `from_unpaired_folder` (`shuffle_buffer` counts encoded
            images, a few kB each; `allow_upscale` does not apply).

    Returns:
        A `tf.data.Dataset` of `(a, b)`, each float32 `(batch, crop, crop, 3)` in [-1, 1].
    """
    import tensorflow_datasets as tfds

    options = _unpaired_options(split, options, overrides)
    name = cycle_gan_name(name)
    try:
        builder = prepared_builder(name, data_dir)
    except DataSourceError as error:
        raise DataSourceError(
            f"{error} Or unpack the dataset's image folders (trainA, trainB, testA, testB) "
            "anywhere and read them with from_unpaired_folder(path)."
        ) from error
    names = (f"{split}A", f"{split}B")
    missing = [n for n in names if n not in builder.info.splits]
    if missing:
        raise DataSourceError(
            f"TFDS dataset {name!r} has no split(s) {', '.join(missing)}; its splits are "
            f"{', '.join(builder.info.splits.keys())}. An unpaired dataset needs "
            f"{names[0]} and {names[1]}, as cycle_gan has."
        )
    if image_key not in builder.info.features:
        raise InputError(
            f"TFDS dataset {name!r} has no feature {image_key!r}; its features are "
            f"{', '.join(builder.info.features.keys())}."
        )
    # Keep the images encoded until after the shuffle: the buffers then hold a few kB per image.
    streams = [
        builder.as_dataset(
            split=n,
            shuffle_files=options.shuffle,
            decoders={image_key: tfds.decode.SkipDecoding()},
            read_config=tfds.ReadConfig(shuffle_seed=_sub_seed(options.seed, 30)),
        ).map(lambda example: example[image_key])
        for n in names
    ]
    counts = [builder.info.splits[n].num_examples for n in names]

    def load(encoded):
        return _as_rgb(tf.io.decode_image(encoded, channels=0, expand_animations=False))

    where = f"TFDS {name!r} ({data_dir or default_tfds_dir()})"
    return _unpaired(streams, counts, load, options, where)
