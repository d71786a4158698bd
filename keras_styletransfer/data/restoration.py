"""Restoration tasks made from real photos by exact, known degradations, and classical baselines.

A task is a pair (degraded photo -> clean photo) where the degradation is a fixed, known
function of the photo and a seed, so the clean photo is the exact target:

- "colourise": "gray", the luminance (ITU-R 601, `cv2.COLOR_RGB2GRAY`) in all three channels.
  Baseline: the gray copy itself.
- "denoise": "gaussian", additive N(0, 25) noise (of 255); "jpeg", JPEG at quality 20.
  Baseline: non-local means (`cv2.fastNlMeansDenoisingColored`).
- "sr2", "sr4": "bicubic", bicubic down by 2 (4), then bicubic back up to the same size.
  Baseline: bicubic upsampling, i.e. the input itself.
- "deblur": "gaussian", Gaussian blur of sigma 2 px; "motion", a 9-px line at a random angle.
  Baselines: unsharp masking (the one held against), Wiener deconvolution with the Gaussian PSF.

Every degraded image has its photo's size (super-resolution inputs are the bicubic upsampling,
so one same-size model serves every task). A task with several variants draws one per image
from the seed (`degrade(..., variant=None)`); the held-out scoring runs every variant on every
photo. Parameters are in pixels of the image given: like the styles
(`keras_styletransfer.data.styles`), a degradation is applied at the scale of use, to each crop
after cropping, and to each whole photo at the size it is scored at.

Training pairs come from the offline photos' crops (`data.offline_photos`: the same six training
photos at the same multi-scale crop levels, `load_restoration_set`); held-out scoring uses the
four held-out photos (`held_out_restoration`, `score_restoration`). The baselines' parameters
were chosen on the training photos' crops (`BASELINE_PARAMETERS`), never on held-out ones.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.validation import check_int

TASKS = ("colourise", "denoise", "sr2", "sr4", "deblur")
DEFAULT_TASKS = ("colourise", "denoise", "sr2", "deblur")
TASK_ALIASES = {"colorize": "colourise", "colourize": "colourise", "colorise": "colourise"}
VARIANTS = {
    "colourise": ("gray",),
    "denoise": ("gaussian", "jpeg"),
    "sr2": ("bicubic",),
    "sr4": ("bicubic",),
    "deblur": ("gaussian", "motion"),
}
NOISE_SIGMA = 25.0  # of 255
JPEG_QUALITY = 20
BLUR_SIGMA = 2.0  # pixels
MOTION_LENGTH = 9  # pixels
SCALES = {"sr2": 2, "sr4": 4}
# Share of the training crops each task trains on (1 when not listed). Colourising's errors
# are several times the others' (gray copy 17 dB vs 25-35 dB): with every crop, its squared
# error drowned theirs, and in 1000 steps denoising, super-resolution and deblurring never left
# the identity while colourising learnt.
TRAINING_SHARES = {"colourise": 0.25}
MIN_CROP_STD = 4.0  # held-out crops flatter than this (levels of 255) are not scored
MAX_PSNR = 100.0  # dB: an exact restoration scores this, not infinity
# Chosen on 48 of the training photos' 64-px crops (never held-out photos), for the best mean
# PSNR over the task's variants: non-local means' strengths (luminance h, colour) from
# {6, 9, 12, 15} x {6, 10, 15} (Gaussian 20.9 -> 25.5 dB; JPEG 27.9 -> 26.7 dB: no setting
# helps JPEG, which is not the white noise it models), unsharp masking's sigma and amount from
# {1, 2, 3} x {0.5, 1, 1.5, 2.5} (Gaussian blur 25.4 -> 26.3, motion 25.5 -> 25.5), Wiener's
# balance from {0.005, ..., 0.1} (Gaussian blur 25.4 -> 26.7 dB, motion 25.5 -> 24.8).
BASELINE_PARAMETERS = {
    "denoise": {"h": 12.0, "h_colour": 15.0},
    "unsharp": {"sigma": 3.0, "amount": 0.5},
    "wiener": {"balance": 0.1},
}


def task_name(name):
    """The task called `name` (aliases such as "colorize" accepted), or a one-line InputError."""
    if isinstance(name, str):
        key = name.strip().lower()
        key = TASK_ALIASES.get(key, key)
        if key in TASKS:
            return key
    raise InputError(f"unknown restoration task {name!r}; the tasks are {', '.join(TASKS)}.")


def task_names(names):
    """A tuple of distinct task names from a sequence or a comma-separated string."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    tasks = tuple(task_name(n) for n in names)
    if not tasks:
        raise InputError(f"name one or more restoration tasks: {', '.join(TASKS)}.")
    if len(set(tasks)) != len(tasks):
        raise InputError(f"restoration tasks must not repeat; received {', '.join(tasks)}.")
    return tasks


def _check_image(image):
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise InputError(
            f"restoration takes one RGB uint8 image of shape (H, W, 3); received dtype "
            f"{image.dtype} and shape {image.shape}."
        )
    if min(image.shape[:2]) < 8:
        raise InputError(f"restoration needs an image of at least 8x8 pixels; got {image.shape}.")
    return np.ascontiguousarray(image)


def _rng(seed):
    return np.random.default_rng(seed if isinstance(seed, list | tuple) else [int(seed)])


def motion_kernel(length=MOTION_LENGTH, angle=0.0):
    """A normalised line kernel `(length, length)` through the centre at `angle` degrees."""
    import cv2

    kernel = np.zeros((length, length), np.float32)
    centre = (length - 1) / 2
    dx, dy = np.cos(np.radians(angle)) * centre, np.sin(np.radians(angle)) * centre
    # 16x sub-pixel precision: the line's ends are rounded to 1/16 px, not to whole pixels.
    ends = [(round((centre + s * dx) * 16), round((centre - s * dy) * 16)) for s in (-1, 1)]
    cv2.line(kernel, ends[0], ends[1], 1.0, 1, cv2.LINE_AA, shift=4)
    return kernel / kernel.sum()


def gaussian_kernel(sigma=BLUR_SIGMA):
    """The 2-D Gaussian kernel `cv2.GaussianBlur(..., (0, 0), sigma)` applies."""
    import cv2

    size = round(sigma * 4 * 2 + 1) | 1  # OpenCV's size for uint8 images: 8 sigma + 1, odd
    line = cv2.getGaussianKernel(size, sigma).astype(np.float32)
    return line @ line.T


def _filter(image, kernel):
    import cv2

    blurred = cv2.filter2D(image.astype(np.float32), -1, kernel, borderType=cv2.BORDER_REFLECT)
    return np.clip(np.round(blurred), 0, 255).astype(np.uint8)


def degrade(image, task, seed=0, variant=None):
    """The degraded version of a photo for `task`: same size, deterministic for a seed.

    Args:
        image: uint8 array (H, W, 3). RGB, at least 8x8.
        task: str. One of `TASKS`.
        seed: int or sequence of ints. Seeds the noise, the motion angle and the variant drawn.
            Defaults to 0.
        variant: str or None. One of `VARIANTS[task]`; None draws one from the seed.
            Defaults to None.

    Returns:
        uint8 array (H, W, 3).

    Example:
        >>> from keras_styletransfer.data.offline_photos import load_photo
        >>> noisy = degrade(load_photo("coffee"), "denoise", seed=1, variant="gaussian")
    """
    import cv2

    image, task = _check_image(image), task_name(task)
    rng = _rng(seed)
    variants = VARIANTS[task]
    pick = variants[int(rng.integers(len(variants)))]
    if variant is None:
        variant = pick
    elif variant not in variants:
        raise InputError(f"{task} has the variants {', '.join(variants)}; received {variant!r}.")
    height, width = image.shape[:2]
    if task == "colourise":
        return np.repeat(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=-1)
    if task == "denoise" and variant == "gaussian":
        noise = rng.normal(0.0, NOISE_SIGMA, image.shape)
        return np.clip(np.round(image + noise), 0, 255).astype(np.uint8)
    if task == "denoise":
        setting = [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]
        _, encoded = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), setting)
        return cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
    if task in SCALES:
        factor = SCALES[task]
        small = (max(1, round(width / factor)), max(1, round(height / factor)))
        low = cv2.resize(image, small, interpolation=cv2.INTER_CUBIC)
        return cv2.resize(low, (width, height), interpolation=cv2.INTER_CUBIC)
    if variant == "gaussian":
        return _filter(image, gaussian_kernel())
    return _filter(image, motion_kernel(MOTION_LENGTH, float(rng.uniform(0.0, 180.0))))


def wiener_deblur(image, sigma=BLUR_SIGMA, balance=None):
    """Wiener deconvolution of each channel with the Gaussian PSF of `sigma` (reflect-padded)."""
    from skimage.restoration import wiener

    balance = BASELINE_PARAMETERS["wiener"]["balance"] if balance is None else balance
    kernel = gaussian_kernel(sigma)
    pad = kernel.shape[0]
    padded = np.pad(image.astype(np.float64) / 255, ((pad, pad), (pad, pad), (0, 0)), "reflect")
    channels = [wiener(padded[..., c], kernel, balance, clip=False) for c in range(3)]
    restored = np.stack(channels, axis=-1)[pad:-pad, pad:-pad]
    return np.clip(np.round(restored * 255), 0, 255).astype(np.uint8)


def unsharp_mask(image, sigma=None, amount=None):
    """Unsharp masking: `image + amount * (image - GaussianBlur(image, sigma))`."""
    import cv2

    sigma = BASELINE_PARAMETERS["unsharp"]["sigma"] if sigma is None else sigma
    amount = BASELINE_PARAMETERS["unsharp"]["amount"] if amount is None else amount
    image = image.astype(np.float32)
    blurred = cv2.GaussianBlur(image, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return np.clip(np.round(image + amount * (image - blurred)), 0, 255).astype(np.uint8)


def non_local_means(image, h=None, h_colour=None):
    """OpenCV's non-local means for colour images (`cv2.fastNlMeansDenoisingColored`)."""
    import cv2

    h = BASELINE_PARAMETERS["denoise"]["h"] if h is None else h
    h_colour = BASELINE_PARAMETERS["denoise"]["h_colour"] if h_colour is None else h_colour
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    clean = cv2.fastNlMeansDenoisingColored(bgr, None, h, h_colour, 7, 21)
    return cv2.cvtColor(clean, cv2.COLOR_BGR2RGB)


# Each task's classical baselines, the first being the one the model is held against.
BASELINES = {
    "colourise": {"gray copy": lambda image: image},
    "denoise": {"non-local means": non_local_means},
    "sr2": {"bicubic": lambda image: image},
    "sr4": {"bicubic": lambda image: image},
    "deblur": {"unsharp mask": unsharp_mask, "wiener": wiener_deblur},
}


def baseline(task, degraded, method=None):
    """A classical restoration of one degraded uint8 image (see `BASELINES`).

    Args:
        task: str. One of `TASKS`.
        degraded: uint8 array (H, W, 3). The output of `degrade` for `task`.
        method: str or None. A key of `BASELINES[task]`; None for the first. Defaults to None.

    Returns:
        uint8 array (H, W, 3).
    """
    task = task_name(task)
    methods = BASELINES[task]
    method = next(iter(methods)) if method is None else method
    if method not in methods:
        raise InputError(f"{task} has the baselines {', '.join(methods)}; received {method!r}.")
    return methods[method](_check_image(degraded))


def degrade_batch(images, task, seed=0):
    """Degrade every image of a uint8 batch `(N, H, W, 3)`, image i seeded by `(seed, task, i)`."""
    task = task_name(task)
    index = TASKS.index(task)
    return np.stack([degrade(image, task, [int(seed), index, i]) for i, image in enumerate(images)])


@dataclasses.dataclass(frozen=True, eq=False)
class RestorationSet:
    """Training pairs of every task, laid out as `OfflineStyleSet`'s paired side, so the paired
    multi-style pipeline trains on it unchanged (a task is a style).

    Attributes:
        size: int. Side of every crop.
        styles: tuple of str. The tasks, in the order asked for.
        seed: int.
        photo_names: tuple of str. Source id -> photo name.
        train_clean: uint8 `(N, size, size, 3)`: crops of the six training photos.
        train_degraded: task -> uint8 `(N, size, size, 3)`: each crop degraded.
        test_crops: uint8 `(K, size, size, 3)`: crops of the held-out photos.
        test_degraded: task -> the held-out crops degraded.
        test_sources: int64 source ids of the held-out photos.
    """

    size: int
    styles: tuple
    seed: int
    photo_names: tuple
    train_clean: np.ndarray
    train_degraded: dict
    test_crops: np.ndarray
    test_degraded: dict
    test_sources: np.ndarray

    def paired_examples(self, task):
        """(degraded inputs, clean targets) of `task`, uint8 `(N, size, size, 3)` each: every
        crop, or an even `TRAINING_SHARES[task]` of them (every 4th for colourise)."""
        name = task_name(task)
        if name not in self.styles:
            raise InputError(f"this set has no task {task!r}; its tasks are {self.styles}.")
        step = max(1, round(1 / TRAINING_SHARES.get(name, 1.0)))  # every photo keeps a share
        return self.train_degraded[name][::step], self.train_clean[::step]

    def sources_of(self, part):
        """The photo names behind "train" or "test"."""
        from keras_styletransfer.data.offline_photos import PHOTO_ROLES

        return sorted(PHOTO_ROLES["train" if part.startswith("train") else "test"])


def load_restoration_set(
    size=64,
    tasks=DEFAULT_TASKS,
    crops_per_photo=128,
    seed=0,
    test_crops_per_photo=16,
    cache_dir=None,
):
    """Crops of the offline photos and their degradations for every task.

    The crops are `load_offline_style_set`'s (the same photos, scales and seeds, cached): both
    sides of its training split (six photos) for training, its held-out crops for scoring.

    Args:
        size: int. Crop side, 16-512. Defaults to 64.
        tasks: sequence of str. Names in `TASKS`. Defaults to `DEFAULT_TASKS`.
        crops_per_photo: int. Crops per training photo. Defaults to 128.
        seed: int. Seeds the crops and the degradations. Defaults to 0.
        test_crops_per_photo: int. Crops per held-out photo. Defaults to 16.
        cache_dir: str, or False for no cache: where the crops are cached
            (`load_offline_style_set`). Defaults to its default.

    Returns:
        A `RestorationSet`.
    """
    from keras_styletransfer.data.offline_photos import load_offline_style_set

    tasks = task_names(tasks)
    seed = check_int(seed, "seed", low=0)
    photos = load_offline_style_set(
        size=size,
        styles=(),
        crops_per_photo=crops_per_photo,
        seed=seed,
        test_crops_per_photo=test_crops_per_photo,
        cache_dir=cache_dir,
    )
    clean = np.concatenate([photos.train_content, photos.train_style_photos])
    degraded = {task: degrade_batch(clean, task, seed) for task in tasks}
    test_degraded = {task: degrade_batch(photos.test_crops, task, seed + 1) for task in tasks}
    for array in (clean, *degraded.values(), *test_degraded.values()):
        array.setflags(write=False)
    return RestorationSet(
        size=photos.size,
        styles=tasks,
        seed=seed,
        photo_names=photos.photo_names,
        train_clean=clean,
        train_degraded=degraded,
        test_crops=photos.test_crops,
        test_degraded=test_degraded,
        test_sources=photos.test_sources,
    )


def held_out_restoration(task, view=256, seed=0, crops=None):
    """Held-out examples of `task`: every held-out photo (or crop) in every variant.

    Args:
        task: str. One of `TASKS`.
        view: "crops", an int long side, or "full" (native size). Defaults to 256.
        seed: int. Seeds the degradations. Defaults to 0.
        crops: uint8 array of held-out crops, for view "crops". Defaults to None.

    Returns:
        list of `(name, variant, degraded, clean)`, uint8 images.
    """
    from keras_styletransfer.data.offline_photos import held_out_photos

    task = task_name(task)
    if view == "crops":
        if crops is None:
            raise InputError("the 'crops' view needs the held-out crops (crops=...).")
        # Flat crops (the retina's black surround) are left out: every method restores them
        # exactly, and their infinite PSNR would swamp the mean.
        photos = [(f"crop{i}", crop) for i, crop in enumerate(crops) if crop.std() >= MIN_CROP_STD]
    else:
        photos = held_out_photos(None if view == "full" else int(view))
    index = TASKS.index(task)
    return [
        (name, variant, degrade(photo, task, [int(seed), index, i], variant), photo)
        for i, (name, photo) in enumerate(photos)
        for variant in VARIANTS[task]
    ]


def quality(clean, image):
    """(PSNR in dB, SSIM) of a uint8 image against the clean uint8 one (`images.image_psnr` /
    `image_ssim`, the metrics training reports)."""
    import tensorflow as tf

    from keras_styletransfer.images import image_psnr, image_ssim, to_model_range

    target = tf.constant(to_model_range(clean)[None])
    output = tf.constant(to_model_range(image)[None])
    psnr = min(float(image_psnr(target, output)[0]), MAX_PSNR)
    return psnr, float(image_ssim(target, output)[0])


def _mean(rows, key):
    return float(np.mean([row[key] for row in rows])) if rows else float("nan")


def score_restoration(restore, tasks, views=("crops", 256), seed=0, crops=None, baselines=True):
    """PSNR / SSIM of a restorer, the degraded input and each classical baseline, per task and view.

    Args:
        restore: callable `(list of uint8 images, task) -> list of uint8 images`, or None to
            score the input and the baselines alone.
        tasks: sequence of str.
        views: sequence of "crops", int long sides, "full". Defaults to ("crops", 256).
        seed: int. Seeds the held-out degradations. Defaults to 0.
        crops: uint8 held-out crops for the "crops" view. Defaults to None.
        baselines: bool. Score the classical baselines too. Defaults to True.

    Returns:
        `{task: {view: {"count", "input": {psnr, ssim}, "model": {...}, "<baseline>": {...},
        "by_variant": {variant: {method: {psnr, ssim}}}}}}`; a view's method scores are means
        over every held-out photo (or crop) and variant.
    """
    results = {}
    for task in task_names(tasks):
        results[task] = {}
        for view in views:
            if view == "crops" and crops is None:
                continue
            examples = held_out_restoration(task, view, seed, crops)
            outputs = {"input": [degraded for _, _, degraded, _ in examples]}
            if restore is not None:
                outputs["model"] = list(restore(outputs["input"], task))
            if baselines:
                for method, function in BASELINES[task].items():
                    outputs[method] = [function(degraded) for degraded in outputs["input"]]
            rows = {method: [] for method in outputs}
            for method, images in outputs.items():
                for (_, variant, _, clean), image in zip(examples, images, strict=True):
                    psnr, ssim = quality(clean, image)
                    rows[method].append({"variant": variant, "psnr": psnr, "ssim": ssim})
            entry = {"count": len(examples)}
            for method, scored in rows.items():
                entry[method] = {"psnr": _mean(scored, "psnr"), "ssim": _mean(scored, "ssim")}
            if len(VARIANTS[task]) > 1:
                entry["by_variant"] = {
                    variant: {
                        method: {
                            key: _mean([r for r in scored if r["variant"] == variant], key)
                            for key in ("psnr", "ssim")
                        }
                        for method, scored in rows.items()
                    }
                    for variant in VARIANTS[task]
                }
            results[task][str(view)] = entry
    return results
