"""tf.data pipelines for image-to-image translation, from the folder layouts users have.

- `from_paired_folder`: pairs for pix2pix, `A|B` side by side in one file (the pix2pix
  datasets) or two folders `A/`, `B/` with matching file names -> (source, target).
- `from_unpaired_folder`: the CycleGAN layout `trainA/ trainB/ testA/ testB/` -> (a, b), the
  two drawn independently.
- `from_tfds_cycle_gan`: TFDS `cycle_gan/<config>`, prepared locally -> (a, b).
- `from_style_folders`: one sub-folder per style -> (image, style_index), and the style names.
- `from_single_folder`: any folder, for inference -> file paths and images at native size.

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

from keras_styletransfer.data.folders import _to_channels, scan_folder
from keras_styletransfer.data.pipeline import check_batch_size
from keras_styletransfer.data.tfds_source import default_tfds_dir, prepared_builder
from keras_styletransfer.errors import DataSourceError, InputError

logger = logging.getLogger(__name__)

RESIZE_MODES = ("stretch", "short_side")
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
    converted), in TensorFlow."""
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=0, expand_animations=False, dtype=tf.uint8)
    return _as_rgb(image)


def _as_rgb(image):
    return tf.ensure_shape(_to_channels(image, 3), [None, None, 3])


def _to_unit_range(image):
    """float pixels in [0, 255] -> float32 in [-1, 1]."""
    return tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 255.0) / 127.5 - 1.0


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
    load_size=286,
    crop_size=256,
    batch_size=1,
    augment=True,
    shuffle=True,
    seed=None,
    repeat=False,
    drop_remainder=True,
    direction="AtoB",
    folder_names=("A", "B"),
    check_aspect=True,
    resize="stretch",
    allow_upscale=True,
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
        load_size: int. Side the images are resized to before the random crop. Defaults to 286.
        crop_size: int. Side of the output images. Defaults to 256.
        batch_size: int. Defaults to 1 (as pix2pix).
        augment: bool. Random crop and flip; without it images are resized to crop_size.
            Defaults to True.
        shuffle: bool. Reshuffle the pairs every epoch. Defaults to True.
        seed: int. Makes shuffles and jitter deterministic. Defaults to None.
        repeat: bool. Repeat forever (then pass `steps_per_epoch` to fit). Defaults to False.
        drop_remainder: bool. Defaults to True.
        direction: str. "AtoB" yields (A, B); "BtoA" yields (B, A). Defaults to "AtoB".
        folder_names: (str, str). The two sub-folders for "two_folders". Defaults to ("A", "B").
        check_aspect: bool. Require side-by-side files of width 2 x height. Defaults to True.
        resize: str. "stretch" or "short_side". Defaults to "stretch".
        allow_upscale: bool. Resize up images smaller than crop_size (else an error).
            Defaults to True.

    Returns:
        A `tf.data.Dataset` of `(source, target)`, each float32 `(batch, crop, crop, 3)` in
        [-1, 1].

    Example:
        >>> pairs = from_paired_folder("facades/train", direction="BtoA", seed=0)
        >>> pix2pix.fit(pairs, epochs=200)
    """
    load_size, crop_size = _check_sizes(load_size, crop_size)
    batch_size = check_batch_size(batch_size)
    _check_choice(layout, "layout", PAIRED_LAYOUTS)
    _check_choice(direction, "direction", ("AtoB", "BtoA"))
    _check_choice(resize, "resize", RESIZE_MODES)
    folder = os.fspath(folder)
    if layout == "side_by_side":
        items, load = _side_by_side_pairs(folder, check_aspect, crop_size, allow_upscale)
    else:
        if len(folder_names) != 2 or folder_names[0] == folder_names[1]:
            raise InputError(
                f"folder_names must be two different names; received {folder_names!r}."
            )
        items, load = _two_folder_pairs(folder, tuple(folder_names), crop_size, allow_upscale)
    _check_enough(len(items), batch_size, drop_remainder, f"{folder!r}")
    transform = _make_pair_transform(load_size, crop_size, resize, augment)
    swap = direction == "BtoA"

    def prepare(item, seeds):
        source, target = load(item)
        if swap:
            source, target = target, source
        return transform(source, target, seeds)

    dataset = tf.data.Dataset.from_tensor_slices(items)
    if shuffle:
        dataset = dataset.shuffle(len(items), seed=seed, reshuffle_each_iteration=True)
    dataset = tf.data.Dataset.zip((dataset, _seed_stream(_sub_seed(seed, 1))))
    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, batch_size, repeat, drop_remainder)


# --------------------------------------------------------------------------------------------
# Unpaired (CycleGAN) sources
# --------------------------------------------------------------------------------------------


def _unpaired(streams, counts, load, options, what):
    """Zip two independently shuffled, repeated streams of items (file paths or encoded images,
    small in the shuffle buffers), then `load` (decode to RGB uint8) and jitter each image on
    its own; one epoch = max(len A, len B) pairs (as the CycleGAN reference implementation)."""
    _check_enough(max(counts), options["batch_size"], options["drop_remainder"], what)
    seed = options["seed"]
    transform = _make_transform(
        options["load_size"], options["crop_size"], options["resize"], options["augment"]
    )
    repeated = []
    for index, (stream, count) in enumerate(zip(streams, counts, strict=True)):
        if options["shuffle"]:
            stream = stream.shuffle(
                min(count, options.get("shuffle_buffer") or count),
                seed=_sub_seed(seed, 10 + index),
                reshuffle_each_iteration=True,
            )
        repeated.append(stream.repeat())
    dataset = tf.data.Dataset.zip(tuple(repeated)).take(max(counts))
    dataset = tf.data.Dataset.zip((dataset, _seed_stream(_sub_seed(seed, 2), count=4)))

    def prepare(images, seeds):
        return transform(load(images[0]), seeds[:2]), transform(load(images[1]), seeds[2:])

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, options["batch_size"], options["repeat"], options["drop_remainder"])


def _unpaired_options(
    split,
    load_size,
    crop_size,
    batch_size,
    augment,
    shuffle,
    seed,
    repeat,
    drop_remainder,
    resize,
    shuffle_buffer=None,
):
    load_size, crop_size = _check_sizes(load_size, crop_size)
    _check_choice(resize, "resize", RESIZE_MODES)
    if not isinstance(split, str) or not split:
        raise InputError(f"split must be a name such as 'train' or 'test'; received {split!r}.")
    training = split == "train"
    return {
        "load_size": load_size,
        "crop_size": crop_size,
        "batch_size": check_batch_size(batch_size),
        "augment": training if augment is None else bool(augment),
        "shuffle": training if shuffle is None else bool(shuffle),
        "seed": seed,
        "repeat": repeat,
        "drop_remainder": drop_remainder,
        "resize": resize,
        "shuffle_buffer": shuffle_buffer,
    }


def from_unpaired_folder(
    root,
    split="train",
    load_size=286,
    crop_size=256,
    batch_size=1,
    augment=None,
    shuffle=None,
    seed=None,
    repeat=False,
    drop_remainder=True,
    resize="stretch",
    allow_upscale=True,
):
    """A `tf.data.Dataset` of unpaired (a, b) batches from the CycleGAN folder layout.

    `root/trainA`, `root/trainB`, `root/testA`, `root/testB` (the layout of the CycleGAN
    datasets and of TFDS `cycle_gan`); `split` picks `<split>A` and `<split>B`. The two domains
    are shuffled and repeated independently and zipped, so every epoch pairs images afresh; an
    epoch has max(len A, len B) pairs.

    Args:
        root: str. The folder holding `<split>A` and `<split>B`.
        split: str. "train" or "test" (any `<split>A` / `<split>B` pair). Defaults to "train".
        load_size, crop_size: int. Jitter sizes. Default to 286 and 256.
        batch_size: int. Defaults to 1 (as CycleGAN).
        augment: bool. Random crop and flip. Defaults to None (True for "train" only).
        shuffle: bool. Defaults to None (True for "train" only).
        seed: int. Makes the pipeline deterministic. Defaults to None.
        repeat: bool. Repeat forever (pass `steps_per_epoch` to fit). Defaults to False.
        drop_remainder: bool. Defaults to True.
        resize: str. "stretch" or "short_side". Defaults to "stretch".
        allow_upscale: bool. Resize up images smaller than crop_size (else an error).
            Defaults to True.

    Returns:
        A `tf.data.Dataset` of `(a, b)`, each float32 `(batch, crop, crop, 3)` in [-1, 1].

    Example:
        >>> pairs = from_unpaired_folder("horse2zebra", seed=0)
        >>> cyclegan.fit(pairs, epochs=200)
    """
    options = _unpaired_options(
        split,
        load_size,
        crop_size,
        batch_size,
        augment,
        shuffle,
        seed,
        repeat,
        drop_remainder,
        resize,
    )
    root = os.fspath(root)
    names = (f"{split}A", f"{split}B")
    _require_subfolders(root, names, _UNPAIRED_LAYOUT)
    streams, counts = [], []
    for name in names:
        scan = scan_folder(os.path.join(root, name), what="domain folder")
        _check_small(scan.files, scan.sizes, options["crop_size"], allow_upscale, f"{name}/")
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
    name,
    data_dir=None,
    split="train",
    load_size=286,
    crop_size=256,
    batch_size=1,
    augment=None,
    shuffle=None,
    seed=None,
    repeat=False,
    drop_remainder=True,
    resize="stretch",
    shuffle_buffer=None,
    image_key="image",
):
    """Unpaired (a, b) batches from a locally prepared TFDS `cycle_gan/<config>` dataset.

    The local data directory is checked first (`prepared_builder`): a dataset that is not
    prepared there is a `DataSourceError` at once, saying how to provide it, never a download.
    Any builder with the splits `<split>A` / `<split>B` and an image feature works the same.

    Args:
        name: str. "cycle_gan/horse2zebra", or just "horse2zebra" (see `CYCLE_GAN_CONFIGS`).
        data_dir: str. Defaults to `$TFDS_DATA_DIR` or `~/tensorflow_datasets`.
        split: str. "train" or "test". Defaults to "train".
        load_size, crop_size, batch_size, augment, shuffle, seed, repeat, drop_remainder, resize:
            as in `from_unpaired_folder`.
        shuffle_buffer: int. Encoded images held for shuffling, per domain. Defaults to None
            (the whole split: a few kB per image).
        image_key: str. The image feature. Defaults to "image".

    Returns:
        A `tf.data.Dataset` of `(a, b)`, each float32 `(batch, crop, crop, 3)` in [-1, 1].
    """
    import tensorflow_datasets as tfds

    options = _unpaired_options(
        split,
        load_size,
        crop_size,
        batch_size,
        augment,
        shuffle,
        seed,
        repeat,
        drop_remainder,
        resize,
        shuffle_buffer,
    )
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
            shuffle_files=bool(options["shuffle"]),
            decoders={image_key: tfds.decode.SkipDecoding()},
            read_config=tfds.ReadConfig(shuffle_seed=_sub_seed(seed, 30)),
        ).map(lambda example: example[image_key])
        for n in names
    ]
    counts = [builder.info.splits[n].num_examples for n in names]

    def load(encoded):
        return _as_rgb(tf.io.decode_image(encoded, channels=0, expand_animations=False))

    where = f"TFDS {name!r} ({data_dir or default_tfds_dir()})"
    return _unpaired(streams, counts, load, options, where)


# --------------------------------------------------------------------------------------------
# Style folders and inference folders
# --------------------------------------------------------------------------------------------


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


def from_style_folders(
    root,
    load_size=286,
    crop_size=256,
    batch_size=1,
    augment=True,
    shuffle=True,
    seed=None,
    repeat=False,
    drop_remainder=True,
    balance=True,
    resize="stretch",
    allow_upscale=True,
):
    """A `tf.data.Dataset` of (image, style_index) batches from one sub-folder per style.

    Style indices follow the sorted sub-folder names, which are returned with the dataset
    (`root/cartoon/`, `root/pencil/` -> 0 = "cartoon", 1 = "pencil"). A sub-folder without a
    readable image is an error; files directly in `root` are ignored with a counted warning.

    Args:
        root: str. The folder of style sub-folders.
        load_size, crop_size, batch_size, augment, shuffle, seed, repeat, drop_remainder, resize,
            allow_upscale: as in `from_paired_folder`.
        balance: bool. Draw every style equally often (each style's images are repeated as
            needed), so a style with few images is not drowned out; else every image once per
            epoch. An epoch has as many examples as there are images either way.
            Defaults to True.

    Returns:
        `(dataset, style_names)`: batches `(images float32 (batch, crop, crop, 3) in [-1, 1],
        style_indices int32 (batch,))`, and the list of style names in index order.
    """
    load_size, crop_size = _check_sizes(load_size, crop_size)
    batch_size = check_batch_size(batch_size)
    _check_choice(resize, "resize", RESIZE_MODES)
    root, names = _style_subfolders(root)
    per_style = []
    for name in names:
        scan = scan_folder(os.path.join(root, name), what="style folder")
        _check_small(scan.files, scan.sizes, crop_size, allow_upscale, f"style folder {name!r}")
        per_style.append(scan.files)
    total = sum(len(files) for files in per_style)
    _check_enough(total, batch_size, drop_remainder, f"{root!r}")
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
    transform = _make_transform(load_size, crop_size, resize, augment)

    def prepare(item, seeds):
        path, index = item
        return transform(decode_rgb(path), seeds), index

    dataset = tf.data.Dataset.zip((dataset, _seed_stream(_sub_seed(seed, 5))))
    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    return _finish(dataset, batch_size, repeat, drop_remainder), list(names)


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
