"""Shortcut audit: does a small fixed region (a watermark, a logo, a border) alone decide D?

Evidence, in three parts:
  1. concentration: the attributions (|integrated gradients| or |saliency|), averaged over the
     images, put a share of their mass in one small box far above the box's share of the area;
  2. consistency: most images' own most-attributed box lies on that same box;
  3. causality: occluding the box (filled with each image's mean colour) flips D's verdict on
     most images it called real, while occluding boxes of the same size at random places does
     not.
The verdict is "shortcut" only when all three hold.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_styletransfer.errors import InputError


@dataclasses.dataclass
class ShortcutReport:
    """What `audit_shortcut` found.

    Attributes:
        verdict: str. "shortcut" or "no shortcut".
        box: tuple (top, left, height, width). The most-attributed box.
        concentration: float. Share of the mean attribution mass inside the box.
        area_share: float. The box's share of the image area.
        consistency: float. Share of images whose own top box overlaps `box`.
        flip_rate: float. Share of images called real whose verdict flips when `box` is occluded.
        random_flip_rate: float. The same for boxes of the same size at random places.
        score_drop: float. Mean drop of the score when `box` is occluded.
        random_score_drop: float. The same for the random boxes.
        images_called_real: int. Images D called real (score > threshold) before occlusion.
    """

    verdict: str
    box: tuple
    concentration: float
    area_share: float
    consistency: float
    flip_rate: float
    random_flip_rate: float
    score_drop: float
    random_score_drop: float
    images_called_real: int

    @property
    def is_shortcut(self):
        return self.verdict == "shortcut"

    def summary(self):
        """One paragraph for people."""
        return (
            f"{self.verdict}: box (top, left, h, w) = {self.box} holds "
            f"{self.concentration:.1%} of the attribution mass on {self.area_share:.1%} of the "
            f"area; it is the top box of {self.consistency:.0%} of images; occluding it flips "
            f"{self.flip_rate:.0%} of {self.images_called_real} verdicts 'real' (random boxes: "
            f"{self.random_flip_rate:.0%}); score drop {self.score_drop:.3f} vs "
            f"{self.random_score_drop:.3f}."
        )


def _box_sums(maps, side):
    """Sum of each side x side box of every map, (n, H - side + 1, W - side + 1)."""
    integral = np.pad(np.cumsum(np.cumsum(maps, axis=1), axis=2), ((0, 0), (1, 0), (1, 0)))
    return (
        integral[:, side:, side:]
        - integral[:, :-side, side:]
        - integral[:, side:, :-side]
        + integral[:, :-side, :-side]
    )


def _occlude(images, box):
    top, left, height, width = box
    occluded = images.copy()
    means = images.mean(axis=(1, 2), keepdims=True)
    occluded[:, top : top + height, left : left + width] = means
    return occluded


def audit_shortcut(
    discriminator,
    images,
    box_fraction=0.02,
    method="integrated_gradients",
    source=None,
    threshold=0.0,
    random_boxes=8,
    concentration_factor=4.0,
    min_flip_rate=0.5,
    min_consistency=0.5,
    seed=0,
):
    """Look for a small region that alone decides D's verdict; see the module docstring.

    Args:
        discriminator: keras.Model, a wrapper, or a Target (realness is audited).
        images: array (n, H, W, C). Images to audit, ideally ones D calls real.
        box_fraction: float. Box area as a share of the image. Defaults to 0.02.
        method: str. "integrated_gradients" or "saliency". Defaults to "integrated_gradients".
        source: array. Condition images of a conditional D. Defaults to None.
        threshold: float. D calls an image real when its mean logit exceeds it. Defaults to 0.
        random_boxes: int. Random boxes for the control. Defaults to 8.
        concentration_factor: float. "Concentrated" means a mass share at least this many times
            the area share. Defaults to 4.
        min_flip_rate: float. Defaults to 0.5.
        min_consistency: float. Defaults to 0.5.
        seed: int. Places of the random boxes. Defaults to 0.

    Returns:
        ShortcutReport.
    """
    from keras_styletransfer.explain.attribution import explain
    from keras_styletransfer.explain.targets import Target, build_target

    if method not in ("integrated_gradients", "saliency"):
        raise InputError(f"Unknown audit method {method!r}. Valid: integrated_gradients, saliency.")
    images = np.asarray(images, np.float32)
    if images.ndim != 4:
        raise InputError(f"images must be (n, H, W, C); received {images.shape}.")
    target = (
        discriminator
        if isinstance(discriminator, Target)
        else build_target("realness", discriminator=discriminator, source=source)
    )
    count, height, width = images.shape[:3]
    side = max(1, round(float(np.sqrt(box_fraction * height * width))))
    maps = np.abs(explain(method, target, images))
    maps = maps / np.maximum(maps.reshape(count, -1).sum(axis=1), 1e-12)[:, None, None]
    mean_sums = _box_sums(maps.mean(axis=0, keepdims=True), side)[0]
    top, left = np.unravel_index(np.argmax(mean_sums), mean_sums.shape)
    box = (int(top), int(left), side, side)
    concentration = float(mean_sums[top, left])
    own = _box_sums(maps, side).reshape(count, -1).argmax(axis=1)
    own_top, own_left = np.unravel_index(own, mean_sums.shape)
    consistency = float(np.mean((np.abs(own_top - top) < side) & (np.abs(own_left - left) < side)))

    scores = np.asarray(target(images))
    called_real = scores > threshold
    occluded_scores = np.asarray(target(_occlude(images, box)))
    generator = np.random.default_rng(seed)
    random_scores = []
    for _ in range(random_boxes):
        # Random places that do not overlap the audited box.
        for _attempt in range(100):
            random_top = int(generator.integers(0, height - side + 1))
            random_left = int(generator.integers(0, width - side + 1))
            if abs(random_top - top) >= side or abs(random_left - left) >= side:
                break
        random_scores.append(
            np.asarray(target(_occlude(images, (random_top, random_left, side, side))))
        )
    random_scores = np.stack(random_scores)
    real_count = int(called_real.sum())
    if real_count:
        flip_rate = float(np.mean(occluded_scores[called_real] <= threshold))
        random_flip_rate = float(np.mean(random_scores[:, called_real] <= threshold))
    else:
        flip_rate = random_flip_rate = 0.0
    area_share = side * side / (height * width)
    is_shortcut = (
        concentration >= concentration_factor * area_share
        and consistency >= min_consistency
        and flip_rate >= min_flip_rate
        and flip_rate >= random_flip_rate + 0.3
    )
    return ShortcutReport(
        verdict="shortcut" if is_shortcut else "no shortcut",
        box=box,
        concentration=concentration,
        area_share=area_share,
        consistency=consistency,
        flip_rate=flip_rate,
        random_flip_rate=random_flip_rate,
        score_drop=float(np.mean(scores - occluded_scores)),
        random_score_drop=float(np.mean(scores[None] - random_scores)),
        images_called_real=real_count,
    )
