"""The offline default for image-to-image style transfer: real photos and their exact styles.

Ten real colour photographs ship inside packages this one depends on (scikit-image's
`skimage/data`, scikit-learn's `sklearn/datasets/images` and matplotlib's
`mpl-data/sample_data`); they are read from those files directly, so nothing is ever downloaded
(scikit-image's own loaders fall back to a network fetch for images it does not bundle; these are
bundled). Every photo, its loader, its licence and where the package states it is listed in
`MANIFEST`. Grayscale sample images (camera, coins, moon, ...) are not used: a style set needs
colour photos. The stereo motorcycle pair is not used: scikit-image states no licence for it.

The photos are split once, by photo, into disjoint roles (`PHOTO_ROLES`):

- "train" = "content" + "style": the six training photos.
- "content" (astronaut, coffee, china): the unpaired model's input photos (domain A).
- "style" (rocket, hubble_deep_field, immunohistochemistry): their crops are stylised to make the
  unpaired training images of each style (domain B). No content photo ever appears stylised, so
  an unpaired model cannot learn from hidden pairs. A paired model uses both sides, whose targets
  are all exact (`OfflineStyleSet.paired_examples`).
- "test" (chelsea, grace_hopper, flower, retina): held out from every training crop; their exact
  styles are the ground truth for evaluation. Retina (1411 px) is the one photo whose long side
  reaches 1024: the full-resolution case.

That is the "photos" split (`load_offline_style_set(split="photos")`, what the paired families
train on). Its two unpaired sides show different subjects (portrait, coffee, pagoda against a
launch at dusk, a deep-sky field, stained tissue), and a discriminator learns the subjects
before the style: unpaired generators trained on it turn photos dark, teal or purple. The
"halves" split (the unpaired families' default, `TranslationConfig.offline_split`) cuts every
training photo in two across its long side and gives one half's crops to each side (which half
alternates from photo to photo): both sides show the same six subjects, so only the style tells
them apart, and still no pixel appears on both sides, so there are no hidden pairs.

Crops at the scale of use, then stylise. A crop is a random `size x size` square of the photo
resized (INTER_AREA) by a factor drawn from `CROP_SCALES` relative to its native resolution
(a factor that would leave the short side under `size` is raised to give exactly `size`), so the
model sees the photos at the scales it will be used at, from a close-up of native pixels to a
quarter-size view. The style is applied to that crop: the target is then a function of the
model's input alone (stylising the whole photo and cropping afterwards would let pixels the model
never sees change the target; the styles are local, so the two agree inside the crop, see
`keras_styletransfer.data.styles.locality`). The held-out random crops (`test_crops`) are made
the same way; `test_content` is each held-out photo's centre square downscaled to `size`.

Whole held-out photos at other sizes: `held_out_photos(long_side)` and
`held_out_targets(style, long_side)` (each photo resized whole, aspect kept, styled whole).

Results are cached as compressed `.npz` files keyed by every parameter, `CACHE_VERSION`, the
photos, the styles' default parameters and the OpenCV version (whose filters define the styles)
in `default_cache_dir()`: `$KERAS_STYLETRANSFER_CACHE`, else
`$XDG_CACHE_HOME/keras_styletransfer`, else `~/.cache/keras_styletransfer`. About 8 MB at size
64 and 32 MB at size 128 with the defaults.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import inspect
import json
import logging
import os
import tempfile

import numpy as np

from keras_styletransfer.data.photo_manifest import MANIFEST, PHOTO_NAMES, PHOTO_ROLES
from keras_styletransfer.data.styles import STYLES, apply_style, apply_style_batch, style_name
from keras_styletransfer.errors import DataSourceError, InputError
from keras_styletransfer.validation import check_int

logger = logging.getLogger(__name__)

# Bump when the procedure below changes, so stale caches are not reused.
CACHE_VERSION = 2
# Resize factors of a photo's native resolution for a training crop: steps of sqrt(2).
CROP_SCALES = (0.25, 0.35, 0.5, 0.71, 1.0)
DEFAULT_STYLES = ("pencil", "watercolour", "cartoon")
# How the training photos are shared between the unpaired sides (`load_offline_style_set`).
UNPAIRED_SPLITS = ("photos", "halves")


def write_manifest(path):
    """Write `MANIFEST` (every photo: package, loader, file, description, licence) as JSON.

    Args:
        path: str. The JSON file to write.

    Returns:
        `path`.
    """
    with open(path, "w", encoding="utf-8") as file:
        json.dump(MANIFEST, file, indent=2, ensure_ascii=False)
        file.write("\n")
    return path


def photo_path(name):
    """The file of the photo `name` inside its installed package (never a download)."""
    entry = next((e for e in MANIFEST if e["name"] == name), None)
    if entry is None:
        raise InputError(
            f"no offline photo named {name!r}; the photos are {', '.join(PHOTO_NAMES)}."
        )
    package, _, relative = entry["file"].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceError(
            f"the offline photo {name!r} ships with the `{entry['package']}` package, which is "
            f"not installed; run `pip install {entry['package']}`."
        )
    path = os.path.join(next(iter(spec.submodule_search_locations)), *relative.split("/"))
    if not os.path.exists(path):
        raise DataSourceError(
            f"`{entry['package']}` is installed but its file {path} is missing; reinstall it "
            f"(`pip install --force-reinstall {entry['package']}`)."
        )
    return path


def load_photo(name):
    """The photo `name` as an RGB uint8 array `(H, W, 3)`, read from its package's file."""
    from PIL import Image

    with Image.open(photo_path(name)) as image:
        return np.asarray(image.convert("RGB"))


def default_cache_dir():
    """`$KERAS_STYLETRANSFER_CACHE`, else `$XDG_CACHE_HOME/keras_styletransfer`, else
    `~/.cache/keras_styletransfer`."""
    if os.environ.get("KERAS_STYLETRANSFER_CACHE"):
        return os.environ["KERAS_STYLETRANSFER_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "keras_styletransfer")


@dataclasses.dataclass(frozen=True, eq=False)  # arrays do not compare with ==
class OfflineStyleSet:
    """Photos and their exact stylisations for training and evaluating style transfer.

    Every array is uint8 `(count, size, size, 3)` unless said otherwise; a source id is an index
    into `photo_names` (and `MANIFEST`). Dicts are keyed by style name.

    Attributes:
        size: int. Side of every image.
        styles: tuple of str. The styles, in the order asked for.
        seed: int. Seed of the random crops.
        photo_names: tuple of str. Source id -> photo name.
        train_content: content-side crops (domain A, the model's input).
        train_content_sources: int64 `(N,)`. Source id of each content crop.
        train_paired: style -> the stylisation of `train_content` itself (pix2pix targets).
        train_style_photos: the style-side crops before stylisation.
        train_style_sources: int64 `(M,)`. Source id of each style-side crop.
        train_style: style -> the stylisation of `train_style_photos` (unpaired domain B).
        test_content: each held-out photo whole: its centre square resized to `size`.
        test_sources: int64 `(T,)`. Source id of each held-out photo.
        test_targets: style -> the stylisation of `test_content` (exact ground truth).
        test_crops: random crops of the held-out photos, made like the training crops (at
            the scales of `CROP_SCALES`; the "64-px crops" view at size 64).
        test_crop_sources: int64 `(K,)`.
        test_crop_targets: style -> the stylisation of `test_crops`.
        split: str. How the training photos were shared between the unpaired sides
            (`UNPAIRED_SPLITS`; see `load_offline_style_set`).
    """

    size: int
    styles: tuple
    seed: int
    photo_names: tuple
    train_content: np.ndarray
    train_content_sources: np.ndarray
    train_paired: dict
    train_style_photos: np.ndarray
    train_style_sources: np.ndarray
    train_style: dict
    test_content: np.ndarray
    test_sources: np.ndarray
    test_targets: dict
    test_crops: np.ndarray
    test_crop_sources: np.ndarray
    test_crop_targets: dict
    split: str = "photos"

    def style_images_and_indices(self):
        """Every style's unpaired training images, concatenated, with their style indices.

        Returns:
            `(images, indices)`: uint8 `(len(styles) * M, size, size, 3)` and int32, where index
            `i` is `styles[i]` (the layout `MultiStyleGAN` takes beside the content photos).
        """
        images = np.concatenate([self.train_style[name] for name in self.styles])
        indices = np.repeat(
            np.arange(len(self.styles), dtype=np.int32), len(self.train_style_photos)
        )
        return images, indices

    def paired_examples(self, style):
        """Every exact (photo, target) pair of `style`: both training sides, six photos.

        Both sides of the unpaired split have exact targets, so a paired model trains on all
        of them: `train_content` with `train_paired[style]`, then `train_style_photos` with
        `train_style[style]`.

        Args:
            style: str. One of `styles`.

        Returns:
            `(photos, targets)`: uint8 arrays `(N + M, size, size, 3)`, row i of `targets` the
            exact style of row i of `photos`.
        """
        name = style_name(style)
        if name not in self.styles:
            raise InputError(
                f"this set has no style {style!r}; its styles are {', '.join(self.styles)}."
            )
        photos = np.concatenate([self.train_content, self.train_style_photos])
        targets = np.concatenate([self.train_paired[name], self.train_style[name]])
        return photos, targets

    def sources_of(self, part):
        """The photo names behind `part` ("train_content", "train_style", "test", "test_crops")."""
        ids = {
            "train_content": self.train_content_sources,
            "train_style": self.train_style_sources,
            "test": self.test_sources,
            "test_crops": self.test_crop_sources,
        }[part]
        return sorted({self.photo_names[i] for i in ids.tolist()})


def crop_levels(photo, size):
    """The photo resized by each factor of `CROP_SCALES` (INTER_AREA), the levels crops come from.

    A factor that would leave the short side under `size` is raised so the short side is
    exactly `size` (INTER_CUBIC when that enlarges the photo); factor 1 is the photo itself.

    Args:
        photo: uint8 array (H, W, 3).
        size: int. Side of the crops.

    Returns:
        list of `(factor, uint8 array)`, one per scale, in `CROP_SCALES` order.
    """
    import cv2

    height, width = photo.shape[:2]
    levels = []
    for scale in CROP_SCALES:
        factor = max(float(scale), size / min(height, width))
        shape = (max(size, round(width * factor)), max(size, round(height * factor)))
        if shape == (width, height):
            levels.append((factor, photo))
            continue
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        levels.append((factor, cv2.resize(photo, shape, interpolation=interpolation)))
    return levels


def _random_crops(photo, size, count, rng):
    """`count` random `size x size` crops, each of a level drawn from `crop_levels`."""
    levels = [level for _, level in crop_levels(photo, size)]
    crops = []
    for _ in range(count):
        level = levels[rng.integers(len(levels))]
        top = rng.integers(0, level.shape[0] - size + 1)
        left = rng.integers(0, level.shape[1] - size + 1)
        crops.append(level[top : top + size, left : left + size])
    return np.stack(crops)


def _centre_square(photo, size):
    """The photo's centre square resized to `size x size`: the held-out photo seen whole."""
    import cv2

    height, width = photo.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = photo[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side >= size else cv2.INTER_CUBIC
    return cv2.resize(square, (size, size), interpolation=interpolation)


def _half_of(photo, half):
    """One half of the photo, cut across its long side: `half` 0 is the top or left half."""
    height, width = photo.shape[:2]
    if width >= height:
        middle = width // 2
        return photo[:, :middle] if half == 0 else photo[:, middle:]
    middle = height // 2
    return photo[:middle] if half == 0 else photo[middle:]


def _crops_of_halves(size, count, seed):
    """The "halves" unpaired split: every training photo cut in two across its long side, one
    half's crops for the content side and the other half's for the style side.

    Which half is content alternates from photo to photo (so neither side is always the left
    or top of a scene). Each side gets `count // 2` crops of each of the six training photos:
    `3 * count` crops a side, as the "photos" split has.

    Returns:
        `(content, content_sources, style_photos, style_sources)`.
    """
    sides = {0: ([], []), 1: ([], [])}
    per_half = max(1, count // 2)
    for position, name in enumerate(PHOTO_ROLES["train"]):
        source = PHOTO_NAMES.index(name)
        photo = load_photo(name)
        for side in (0, 1):
            half = _half_of(photo, (side + position) % 2)
            rng = np.random.default_rng([int(seed), source, 1 + side])
            sides[side][0].append(_random_crops(half, size, per_half, rng))
            sides[side][1].append(np.full(per_half, source, np.int64))
    (content, content_sources), (style, style_sources) = (
        (np.concatenate(crops), np.concatenate(sources)) for crops, sources in sides.values()
    )
    return content, content_sources, style, style_sources


def _crops_of_role(role, size, count, seed):
    """Random crops of every photo with `role`, and their source ids."""
    if count == 0:
        return np.zeros((0, size, size, 3), np.uint8), np.zeros(0, np.int64)
    crops, sources = [], []
    for name in PHOTO_ROLES[role]:
        source = PHOTO_NAMES.index(name)
        # One generator per (seed, photo): a photo's crops do not depend on the other photos.
        rng = np.random.default_rng([int(seed), source])
        crops.append(_random_crops(load_photo(name), size, count, rng))
        sources.append(np.full(count, source, np.int64))
    return np.concatenate(crops), np.concatenate(sources)


_PER_STYLE = ("train_paired", "train_style", "test_targets", "test_crop_targets")


def _build(size, styles, crops_per_photo, test_crops_per_photo, seed, split="photos"):
    if split == "halves":
        content, content_sources, style_photos, style_sources = _crops_of_halves(
            size, crops_per_photo, seed
        )
    else:
        content, content_sources = _crops_of_role("content", size, crops_per_photo, seed)
        style_photos, style_sources = _crops_of_role("style", size, crops_per_photo, seed)
    test_crops, test_crop_sources = _crops_of_role("test", size, test_crops_per_photo, seed)
    test_sources = np.array([PHOTO_NAMES.index(n) for n in PHOTO_ROLES["test"]], np.int64)
    test_content = np.stack([_centre_square(load_photo(n), size) for n in PHOTO_ROLES["test"]])
    arrays = {
        "train_content": content,
        "train_content_sources": content_sources,
        "train_style_photos": style_photos,
        "train_style_sources": style_sources,
        "test_content": test_content,
        "test_sources": test_sources,
        "test_crops": test_crops,
        "test_crop_sources": test_crop_sources,
    }
    for name in styles:
        arrays[f"train_paired/{name}"] = apply_style_batch(name, content)
        arrays[f"train_style/{name}"] = apply_style_batch(name, style_photos)
        arrays[f"test_targets/{name}"] = apply_style_batch(name, test_content)
        arrays[f"test_crop_targets/{name}"] = apply_style_batch(name, test_crops)
    return arrays


def _style_parameters(styles):
    """Each style's function and default parameters: a changed default changes the cache key."""
    return {name: f"{STYLES[name].__name__}{inspect.signature(STYLES[name])}" for name in styles}


def _cache_file(cache_dir, stem, **parameters):
    """`cache_dir/<stem>_<digest>.npz`, the digest covering `parameters`, the procedure's
    version, the photos, the styles' parameters and the OpenCV version."""
    import cv2

    key = {
        **parameters,
        "version": CACHE_VERSION,
        "crop_scales": CROP_SCALES,
        "style_parameters": _style_parameters(parameters["styles"]),
        "photos": MANIFEST,
        "opencv": cv2.__version__,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"{stem}_{digest}.npz")


def _read_cache(path, needed):
    """The arrays stored at `path`, or None when it is missing, unreadable or lacks a key."""
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except Exception as error:  # a truncated or foreign file: rebuild it
        logger.warning("ignoring unreadable cache file %s (%s); rebuilding it", path, error)
        return None
    return arrays if all(key in arrays for key in needed) else None


def _write_cache(path, arrays):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temporary = tempfile.mkstemp(suffix=".npz", dir=os.path.dirname(path))
        with os.fdopen(handle, "wb") as file:
            np.savez_compressed(file, **arrays)  # about 3x smaller; reading stays well under 1 s
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)  # atomic: a concurrent reader never sees half a file
    except OSError as error:
        logger.warning("could not write the cache file %s (%s); continuing without it", path, error)


def load_offline_style_set(
    size=64,
    styles=DEFAULT_STYLES,
    crops_per_photo=64,
    seed=0,
    test_crops_per_photo=16,
    cache_dir=None,
    split="photos",
):
    """Real photos and their exact stylisations, split into content / style / held-out photos.

    No download, ever: the photos are files inside scikit-image, scikit-learn and matplotlib
    (see `MANIFEST`, and the module docstring for the split and the crop-then-stylise
    procedure). The first call for a set of parameters takes a few seconds (about 2 s at size
    64, 7 s at 128 with the defaults); the result is cached (see `default_cache_dir`).

    Args:
        size: int. Side of every image, 16-512. Defaults to 64.
        styles: sequence of str. Names in `STYLES` ("pencil", "watercolour", "cartoon",
            "detail", "ink", "oil"). Defaults to ("pencil", "watercolour", "cartoon").
        crops_per_photo: int. Training crops per content photo and per style photo (3 photos
            each). Defaults to 64.
        seed: int. Seed of the random crops. Defaults to 0.
        test_crops_per_photo: int. Random crops per held-out photo (0 for none). Defaults to 16.
        cache_dir: str, or False for no cache. Defaults to `default_cache_dir()`.
        split: str. How the six training photos are shared between the unpaired sides
            (`UNPAIRED_SPLITS`). "photos": the content photos on one side and the style
            photos, stylised, on the other (their subjects differ: a discriminator can tell
            the sides apart by subject alone). "halves": every training photo cut in two,
            one half's crops on each side (the same subjects on both sides, so only the style
            tells them apart; still no pixel appears on both sides). Defaults to "photos".

    Returns:
        An `OfflineStyleSet` (frozen dataclass of read-only uint8 / int64 arrays).

    Example:
        >>> data = load_offline_style_set(size=64, styles=("pencil",))
        >>> data.train_content.shape, data.train_style["pencil"].shape, data.test_content.shape
        ((192, 64, 64, 3), (192, 64, 64, 3), (4, 64, 64, 3))
    """
    size = check_int(size, "size", low=16, high=512)
    crops_per_photo = check_int(crops_per_photo, "crops_per_photo")
    test_crops_per_photo = check_int(test_crops_per_photo, "test_crops_per_photo", low=0)
    seed = check_int(seed, "seed", low=0)
    if split not in UNPAIRED_SPLITS:
        raise InputError(f"split must be one of {', '.join(UNPAIRED_SPLITS)}; received {split!r}.")
    if isinstance(styles, str):
        styles = (styles,)
    styles = tuple(style_name(name) for name in styles)
    if len(set(styles)) != len(styles):
        raise InputError(f"styles must not repeat; received {styles!r}.")

    path = None
    if cache_dir is not False:
        path = _cache_file(
            cache_dir or default_cache_dir(),
            f"offline_styles_{size}px",
            size=size,
            styles=sorted(styles),
            crops_per_photo=crops_per_photo,
            test_crops_per_photo=test_crops_per_photo,
            seed=seed,
            # The "photos" split keeps the key it had before splits existed (no rebuild).
            **({} if split == "photos" else {"split": split}),
        )
    needed = [f"{part}/{name}" for part in _PER_STYLE for name in styles]
    arrays = _read_cache(path, needed) if path else None
    if arrays is None:
        arrays = _build(size, styles, crops_per_photo, test_crops_per_photo, seed, split)
        if path:
            _write_cache(path, arrays)
    for array in arrays.values():
        array.setflags(write=False)

    def per_style(prefix):
        return {name: arrays[f"{prefix}/{name}"] for name in styles}

    return OfflineStyleSet(
        size=size,
        styles=styles,
        seed=seed,
        photo_names=PHOTO_NAMES,
        train_content=arrays["train_content"],
        train_content_sources=arrays["train_content_sources"],
        train_paired=per_style("train_paired"),
        train_style_photos=arrays["train_style_photos"],
        train_style_sources=arrays["train_style_sources"],
        train_style=per_style("train_style"),
        test_content=arrays["test_content"],
        test_sources=arrays["test_sources"],
        test_targets=per_style("test_targets"),
        test_crops=arrays["test_crops"],
        test_crop_sources=arrays["test_crop_sources"],
        test_crop_targets=per_style("test_crop_targets"),
        split=split,
    )


def _check_long_side(long_side):
    return None if long_side is None else check_int(long_side, "long_side", low=16, high=4096)


def _resize_long_side(photo, long_side):
    """`photo` resized (aspect kept) so its long side is `long_side`; itself when None."""
    import cv2

    height, width = photo.shape[:2]
    if long_side is None or long_side == max(height, width):
        return photo
    factor = long_side / max(height, width)
    shape = (max(1, round(width * factor)), max(1, round(height * factor)))
    interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    return cv2.resize(photo, shape, interpolation=interpolation)


def held_out_photos(long_side=None):
    """Each held-out ("test") photo whole, aspect kept, at native size or a given long side.

    Args:
        long_side: int or None. The long side in pixels (16-4096), resized with INTER_AREA
            (INTER_CUBIC where it enlarges); None for the native resolution. Defaults to None.

    Returns:
        list of `(name, uint8 array (H, W, 3))`, in `PHOTO_ROLES["test"]` order.

    Example:
        >>> [(name, photo.shape) for name, photo in held_out_photos(256)][:2]
        [('chelsea', (170, 256, 3)), ('grace_hopper', (256, 218, 3))]
    """
    long_side = _check_long_side(long_side)
    return [(name, _resize_long_side(load_photo(name), long_side)) for name in PHOTO_ROLES["test"]]


def held_out_targets(style, long_side=None, cache_dir=None):
    """The exact style of each `held_out_photos(long_side)` image, styled whole.

    Args:
        style: str. A name in `STYLES`.
        long_side: int or None. As in `held_out_photos`. Defaults to None.
        cache_dir: str, or False for no cache. Defaults to `default_cache_dir()`.

    Returns:
        list of uint8 arrays, one per held-out photo, each of its photo's shape.
    """
    style = style_name(style)
    long_side = _check_long_side(long_side)
    photos = held_out_photos(long_side)
    path = None
    if cache_dir is not False:
        path = _cache_file(
            cache_dir or default_cache_dir(),
            f"held_out_{style}_{long_side or 'native'}",
            styles=[style],
            long_side=long_side,
        )
    stored = _read_cache(path, [name for name, _ in photos]) if path else None
    if stored is None:
        stored = {name: apply_style(style, photo) for name, photo in photos}
        if path:
            _write_cache(path, stored)
    for target in stored.values():
        target.setflags(write=False)
    return [stored[name] for name, _ in photos]
