"""Network dissection without a segmenter: which units of a layer respond to an edited region.

Regions come from the model itself, not from a labelled segmentation set:
- `difference_masks`: where G changed the image, |G(x) - x| thresholded;
- `grad_cam_masks`: where D's Grad-CAM looks (`keras_styletransfer.explain.attribution`).

`dissect` scores every unit (channel) of a layer as network dissection does (Bau et al., 2017):
the unit's activation, upsampled to the image, is thresholded at its top `1 - quantile` over all
images and positions, and compared with the region masks by IoU over the whole set. Units are
ranked by IoU. `intervene` then ablates (or boosts) each unit and measures the output change
inside versus outside the region (Bau et al., "GAN Dissection", 2019): a unit that draws the
region changes the output mostly inside it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.validation import check_number


def _tf():
    import tensorflow as tf

    return tf


def _check_quantile(quantile):
    return check_number(quantile, "quantile", low=0.0, high=1.0, low_open=True)


def threshold_maps(maps, quantile=None, relative=0.5):
    """Binary masks from maps (batch, H, W): per image, above a quantile or a relative level.

    Args:
        maps: array (batch, H, W) (or (batch, H, W, C), reduced by the channel mean).
        quantile: float in (0, 1) or None. Keep pixels above this per-image quantile.
        relative: float in [0, 1]. Used when `quantile` is None: keep pixels above
            min + relative * (max - min) of each image. Defaults to 0.5.

    Returns:
        np.ndarray (batch, H, W) of bool.
    """
    maps = np.asarray(maps, dtype="float64")
    if maps.ndim == 4:
        maps = maps.mean(axis=-1)
    if maps.ndim != 3:
        raise InputError(f"maps must be (batch, H, W); received shape {maps.shape}.")
    flat = maps.reshape(len(maps), -1)
    if quantile is not None:
        quantile = _check_quantile(quantile)
        levels = np.quantile(flat, quantile, axis=1)
    else:
        relative = check_number(relative, "relative", low=0.0, high=1.0)
        low, high = flat.min(axis=1), flat.max(axis=1)
        levels = low + relative * (high - low)
    return maps > levels[:, None, None]


def difference_masks(generator, images, quantile=None, relative=0.5):
    """Regions G edits: |G(x) - x| (mean over channels) thresholded per image.

    Args:
        generator: keras.Model or callable, image to image (same size).
        images: array (batch, H, W, C) in [-1, 1].
        quantile, relative: see `threshold_maps`.

    Returns:
        np.ndarray (batch, H, W) of bool.
    """
    images = np.asarray(images, "float32")
    outputs = np.asarray(
        generator(images, training=False) if hasattr(generator, "layers") else generator(images)
    )
    if outputs.shape != images.shape:
        raise InputError(
            f"difference masks need G(x) of the input's shape {images.shape}; got {outputs.shape}."
        )
    return threshold_maps(np.abs(outputs - images).mean(axis=-1), quantile, relative)


def grad_cam_masks(discriminator, images, layer_name, quantile=None, relative=0.5, **arguments):
    """Regions D's Grad-CAM marks (A's `attribution.grad_cam`), thresholded per image.

    Args:
        discriminator: keras.Model, a wrapper or a target (see `attribution.grad_cam`).
        images: array (batch, H, W, C).
        layer_name: str. A spatial layer of D.
        quantile, relative: see `threshold_maps`.
        **arguments: passed to `grad_cam` (e.g. `source=` for a conditional D).

    Returns:
        np.ndarray (batch, H, W) of bool.
    """
    from keras_styletransfer.explain.attribution import grad_cam

    maps = grad_cam(discriminator, images, layer_name, **arguments)
    return threshold_maps(maps, quantile, relative)


def _activations(model, inputs, layer_name):
    from keras_styletransfer.explain.control import layer_activations

    activations = layer_activations(model, inputs, layer_name)
    if activations.ndim != 4:
        raise InputError(
            f"{layer_name!r} has output shape {activations.shape}; dissection needs a spatial "
            "layer (batch, h, w, channels)."
        )
    return activations


@dataclasses.dataclass
class UnitEffect:
    """What changing one unit does to the output, inside vs outside the region.

    Attributes:
        unit: int. Channel index.
        iou: float. IoU of the unit's thresholded activation with the region.
        inside_change: float. Mean |G'(x) - G(x)| over region pixels.
        outside_change: float. The same over pixels outside the region.
        inside_share: float. Share of the total absolute change that falls inside the region.
    """

    unit: int
    iou: float
    inside_change: float
    outside_change: float
    inside_share: float


@dataclasses.dataclass
class Dissection:
    """A layer's units ranked by how well they match a region.

    Attributes:
        layer_name: str.
        ranking: list of int. Units, best IoU first.
        ious: list of float. IoU per unit, in unit order.
        thresholds: list of float. Activation level per unit (its `quantile` over the set).
        quantile: float.
        region_fraction: float. Share of pixels inside the region.
        effects: list of UnitEffect, for the units `intervene` measured (ranking order).
    """

    layer_name: str
    ranking: list
    ious: list
    thresholds: list
    quantile: float
    region_fraction: float
    effects: list = dataclasses.field(default_factory=list)

    def to_dict(self):
        return dataclasses.asdict(self)


def dissect(model, inputs, layer_name, masks, quantile=0.8):
    """Rank the units of `layer_name` by IoU of their high activations with `masks`.

    Args:
        model: keras.Model.
        inputs: what the model takes.
        layer_name: str. A spatial layer.
        masks: array (batch, H, W) of bool. The region per image.
        quantile: float in (0, 1). A unit is "on" above this quantile of its own activations
            over all images and positions (network dissection uses the top 0.5%, i.e. 0.995,
            on large sets; small sets need a lower value). Defaults to 0.8.

    Returns:
        Dissection (without effects).
    """
    tf = _tf()
    masks = np.asarray(masks, bool)
    if masks.ndim != 3:
        raise InputError(f"masks must be (batch, H, W); received shape {masks.shape}.")
    quantile = _check_quantile(quantile)
    activations = _activations(model, inputs, layer_name)
    if activations.shape[0] != masks.shape[0]:
        raise InputError(
            f"{masks.shape[0]} masks for {activations.shape[0]} images: give one per image."
        )
    upsampled = tf.image.resize(activations, masks.shape[1:3], method="bilinear").numpy()
    channels = upsampled.shape[-1]
    flat = upsampled.reshape(-1, channels)
    thresholds = np.quantile(flat, quantile, axis=0)
    on = flat > thresholds
    region = masks.reshape(-1, 1)
    intersection = np.logical_and(on, region).sum(axis=0)
    union = np.logical_or(on, region).sum(axis=0)
    ious = np.where(union > 0, intersection / np.maximum(union, 1), 0.0)
    ranking = np.argsort(-ious, kind="stable")
    return Dissection(
        layer_name=layer_name,
        ranking=[int(u) for u in ranking],
        ious=[float(v) for v in ious],
        thresholds=[float(v) for v in thresholds],
        quantile=float(quantile),
        region_fraction=float(masks.mean()),
    )


def intervene(model, inputs, dissection, masks, top=3, mode="ablate", factor=3.0):
    """Ablate (or boost) each of the top units and measure the output change in vs out of region.

    Args:
        model: keras.Model producing images (batch, H, W, C) the size of the masks.
        inputs: what the model takes.
        dissection: Dissection from `dissect`.
        masks: array (batch, H, W) of bool.
        top: int. How many of the best-ranked units. Defaults to 3.
        mode: str. "ablate" (unit set to 0) or "boost" (unit multiplied by `factor`).
        factor: float. Boost factor. Defaults to 3.

    Returns:
        The same Dissection with `effects` filled (ranking order).
    """
    from keras_styletransfer.explain.control import set_units

    if mode not in ("ablate", "boost"):
        raise InputError(f"mode must be 'ablate' or 'boost'; received {mode!r}.")
    masks = np.asarray(masks, bool)
    plain = np.asarray(model(inputs, training=False))
    if plain.shape[:3] != masks.shape:
        raise InputError(
            f"the model's output {plain.shape} does not match the masks {masks.shape}."
        )
    scale = 0.0 if mode == "ablate" else float(factor)
    region = masks[..., None]
    effects = []
    for unit in dissection.ranking[:top]:
        changed = set_units(model, inputs, dissection.layer_name, [unit], scale=scale)
        change = np.abs(changed - plain).mean(axis=-1, keepdims=True)
        inside = float(change[region].mean()) if region.any() else 0.0
        outside = float(change[~region].mean()) if (~region).any() else 0.0
        total = float(change.sum())
        share = float(change[region].sum() / total) if total > 0 else 0.0
        effects.append(UnitEffect(unit, dissection.ious[unit], inside, outside, share))
    dissection.effects = effects
    return dissection
