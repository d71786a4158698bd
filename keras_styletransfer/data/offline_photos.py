"""The offline default for image-to-image style transfer: real photos and their exact styles.

Eight real photographs ship inside packages this one depends on (scikit-image's `skimage/data`
folder and matplotlib's `mpl-data/sample_data`); they are read from those files directly, so
nothing is ever downloaded (scikit-image's own loaders fall back to a network fetch for the
images it does not bundle; these eight are bundled). Every photo, its loader and its licence is
listed in `MANIFEST`. Grayscale sample images (camera, coins, moon, ...) are not used: a style
set needs colour photos. The stereo motorcycle pair is not used: scikit-image states no licence
for it.

The photos are split once, by photo, into three disjoint roles (`PHOTO_ROLES`):

- "content" (astronaut, coffee, hubble_deep_field): the training photos (domain A).
- "style" (rocket, immunohistochemistry, retina): their crops are stylised to make the unpaired
  training images of each style (domain B). No content photo ever appears stylised, so an
  unpaired model cannot learn from hidden pairs.
- "test" (chelsea, grace_hopper): held out from every training crop; their exact stylisation is
  the ground truth for evaluation.

Crop, then stylise. Every training image is a random square crop taken from the photo
downscaled so its short side is one of `size * (1, 1.25, 1.5, 1.75, 2)` (never above the
photo's own resolution), and the style is applied to that `size x size` crop. The target is
then a function of the model's input alone (stylising the whole photo and cropping afterwards
would let pixels outside the crop, which the model never sees, change the target, and would
stylise at another resolution than the model works at). The held-out ground truth follows the
same procedure: a held-out photo's centre square, downscaled to `size` (scale 1 of the
training crops), then stylised; and random crops of the held-out photos, made exactly as the
training crops.

Results are cached as compressed `.npz` files keyed by every parameter (and the OpenCV
version, whose filters define the styles) in `default_cache_dir()`:
`$KERAS_STYLETRANSFER_CACHE`, else `$XDG_CACHE_HOME/keras_styletransfer`, else
`~/.cache/keras_styletransfer`. About 6 MB at size 64 and 29 MB at size 128 with the defaults.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import logging
import os
import tempfile

import numpy as np

from keras_styletransfer.data.styles import apply_style_batch, style_name
from keras_styletransfer.errors import DataSourceError, InputError
from keras_styletransfer.validation import check_int

logger = logging.getLogger(__name__)

# Bump when the procedure below changes, so stale caches are not reused.
CACHE_VERSION = 1
CROP_SCALES = (1.0, 1.25, 1.5, 1.75, 2.0)
DEFAULT_STYLES = ("pencil", "watercolour", "cartoon")

_SKIMAGE_SOURCE = "scikit-image (skimage/data, bundled in the wheel)"
_MATPLOTLIB_SOURCE = "matplotlib (mpl-data/sample_data, bundled in the wheel)"

# The photos, in source-id order (a source id is an index into this list).
MANIFEST = [
    {
        "name": "astronaut",
        "role": "content",
        "package": "scikit-image",
        "loader": "skimage.data.astronaut()",
        "file": "skimage/data/astronaut.png",
        "description": "Astronaut Eileen Collins in her flight suit (NASA), 512x512.",
        "licence": "Public domain: no known copyright restrictions (NASA Great Images).",
        "url": "https://flic.kr/p/r9qvLn",
    },
    {
        "name": "coffee",
        "role": "content",
        "package": "scikit-image",
        "loader": "skimage.data.coffee()",
        "file": "skimage/data/coffee.png",
        "description": "A cup of coffee on a wooden table, 600x400.",
        "licence": "CC0 1.0, by the photographer Rachel Michetti (for Pikolo Espresso Bar).",
        "url": "https://scikit-image.org/docs/stable/api/skimage.data.html#skimage.data.coffee",
    },
    {
        "name": "hubble_deep_field",
        "role": "content",
        "package": "scikit-image",
        "loader": "skimage.data.hubble_deep_field()",
        "file": "skimage/data/hubble_deep_field.jpg",
        "description": "Hubble eXtreme Deep Field: galaxies on a dark sky (NASA), 1000x872.",
        "licence": "Public domain: NASA imagery may be freely used.",
        "url": "http://hubblesite.org/newscenter/archive/releases/2012/37/image/a/",
    },
    {
        "name": "rocket",
        "role": "style",
        "package": "scikit-image",
        "loader": "skimage.data.rocket()",
        "file": "skimage/data/rocket.jpg",
        "description": "Launch of DSCOVR on a Falcon 9 at dusk (SpaceX), 640x427.",
        "licence": "Public domain: released by SpaceX.",
        "url": "https://www.flickr.com/photos/spacexphotos/16511594820/",
    },
    {
        "name": "immunohistochemistry",
        "role": "style",
        "package": "scikit-image",
        "loader": "skimage.data.immunohistochemistry()",
        "file": "skimage/data/ihc.png",
        "description": "Stained colonic glands under a microscope (CMMI), 512x512.",
        "licence": "No known copyright restrictions (Center for Microscopy and Molecular Imaging).",
        "url": (
            "https://scikit-image.org/docs/stable/api/skimage.data.html"
            "#skimage.data.immunohistochemistry"
        ),
    },
    {
        "name": "retina",
        "role": "style",
        "package": "scikit-image",
        "loader": "skimage.data.retina()",
        "file": "skimage/data/retina.jpg",
        "description": "Fundus photograph of a human retina (Mikael Häggström), 1411x1411.",
        "licence": "CC0 1.0 Universal Public Domain Dedication (Wikimedia Commons).",
        "url": "https://commons.wikimedia.org/wiki/File:Fundus_photograph_of_normal_left_eye.jpg",
    },
    {
        "name": "chelsea",
        "role": "test",
        "package": "scikit-image",
        "loader": "skimage.data.chelsea()",
        "file": "skimage/data/chelsea.png",
        "description": "Chelsea the cat, close up, 451x300.",
        "licence": "CC0 1.0, by the photographer Stefan van der Walt.",
        "url": "https://scikit-image.org/docs/stable/api/skimage.data.html#skimage.data.chelsea",
    },
    {
        "name": "grace_hopper",
        "role": "test",
        "package": "matplotlib",
        "loader": "matplotlib.cbook.get_sample_data('grace_hopper.jpg')",
        "file": "matplotlib/mpl-data/sample_data/grace_hopper.jpg",
        "description": "Grace Hopper in US Navy uniform, official portrait, 512x600.",
        "licence": "Public domain: a US Navy photograph (work of the US federal government).",
        "url": "https://matplotlib.org/stable/api/cbook_api.html#matplotlib.cbook.get_sample_data",
    },
]
PHOTO_NAMES = tuple(entry["name"] for entry in MANIFEST)
PHOTO_ROLES = {
    role: tuple(entry["name"] for entry in MANIFEST if entry["role"] == role)
    for role in ("content", "style", "test")
}


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
        test_content: each held-out photo whole: its centre square downscaled to `size`.
        test_sources: int64 `(T,)`. Source id of each held-out photo.
        test_targets: style -> the stylisation of `test_content` (exact ground truth).
        test_crops: random crops of the held-out photos, made like the training crops.
        test_crop_sources: int64 `(K,)`.
        test_crop_targets: style -> the stylisation of `test_crops`.
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

    def sources_of(self, part):
        """The photo names behind `part` ("train_content", "train_style", "test", "test_crops")."""
        ids = {
            "train_content": self.train_content_sources,
            "train_style": self.train_style_sources,
            "test": self.test_sources,
            "test_crops": self.test_crop_sources,
        }[part]
        return sorted({self.photo_names[i] for i in ids.tolist()})


def _pyramid(photo, size):
    """The photo downscaled so its short side is each of `size * CROP_SCALES` (capped at the
    photo's own short side, but at least `size`), with INTER_AREA."""
    import cv2

    short = min(photo.shape[:2])
    levels = []
    for scale in CROP_SCALES:
        target = max(size, min(round(size * scale), short))
        factor = target / short
        shape = (
            max(size, round(photo.shape[1] * factor)),
            max(size, round(photo.shape[0] * factor)),
        )
        interpolation = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
        levels.append(cv2.resize(photo, shape, interpolation=interpolation))
    return levels


def _random_crops(photo, size, count, rng):
    """`count` random `size x size` crops at random scales (see `CROP_SCALES`)."""
    levels = _pyramid(photo, size)
    crops = []
    for _ in range(count):
        level = levels[rng.integers(len(levels))]
        top = rng.integers(0, level.shape[0] - size + 1)
        left = rng.integers(0, level.shape[1] - size + 1)
        crops.append(level[top : top + size, left : left + size])
    return np.stack(crops)


def _centre_square(photo, size):
    """The photo's centre square downscaled to `size x size` (scale 1 of the training crops)."""
    import cv2

    height, width = photo.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = photo[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side >= size else cv2.INTER_CUBIC
    return cv2.resize(square, (size, size), interpolation=interpolation)


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


def _build(size, styles, crops_per_photo, test_crops_per_photo, seed):
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


def _cache_file(cache_dir, size, styles, crops_per_photo, test_crops_per_photo, seed):
    import cv2

    key = {
        "version": CACHE_VERSION,
        "size": size,
        "styles": sorted(styles),
        "crops_per_photo": crops_per_photo,
        "test_crops_per_photo": test_crops_per_photo,
        "seed": seed,
        "photos": MANIFEST,
        "opencv": cv2.__version__,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"offline_styles_{size}px_{digest}.npz")


def _read_cache(path, styles):
    if not os.path.exists(path):
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except Exception as error:  # a truncated or foreign file: rebuild it
        logger.warning("ignoring unreadable cache file %s (%s); rebuilding it", path, error)
        return None
    needed = [f"train_style/{name}" for name in styles] + ["train_content", "test_content"]
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
):
    """Real photos and their exact stylisations, split into content / style / held-out photos.

    No download, ever: the photos are files inside scikit-image and matplotlib (see `MANIFEST`
    and the module docstring for the split and the crop-then-stylise procedure). The first call
    for a set of parameters takes a few seconds; the result is cached (see `default_cache_dir`).

    Args:
        size: int. Side of every image, 16-512. Defaults to 64.
        styles: sequence of str. Names in `STYLES` ("pencil", "watercolour", "cartoon",
            "detail"). Defaults to ("pencil", "watercolour", "cartoon").
        crops_per_photo: int. Training crops per content photo and per style photo (3 photos
            each). Defaults to 64.
        seed: int. Seed of the random crops. Defaults to 0.
        test_crops_per_photo: int. Random crops per held-out photo (0 for none). Defaults to 16.
        cache_dir: str, or False for no cache. Defaults to `default_cache_dir()`.

    Returns:
        An `OfflineStyleSet` (frozen dataclass of read-only uint8 / int64 arrays).

    Example:
        >>> data = load_offline_style_set(size=64, styles=("pencil",))
        >>> data.train_content.shape, data.train_style["pencil"].shape, data.test_content.shape
        ((192, 64, 64, 3), (192, 64, 64, 3), (2, 64, 64, 3))
    """
    size = check_int(size, "size", low=16, high=512)
    crops_per_photo = check_int(crops_per_photo, "crops_per_photo")
    test_crops_per_photo = check_int(test_crops_per_photo, "test_crops_per_photo", low=0)
    seed = check_int(seed, "seed", low=0)
    if isinstance(styles, str):
        styles = (styles,)
    styles = tuple(style_name(name) for name in styles)
    if len(set(styles)) != len(styles):
        raise InputError(f"styles must not repeat; received {styles!r}.")

    path = None
    if cache_dir is not False:
        path = _cache_file(
            cache_dir or default_cache_dir(),
            size,
            styles,
            crops_per_photo,
            test_crops_per_photo,
            seed,
        )
    arrays = _read_cache(path, styles) if path else None
    if arrays is None:
        arrays = _build(size, styles, crops_per_photo, test_crops_per_photo, seed)
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
    )
