"""Explanation-guided training: D's saliency shapes G's gradient (xAI-GAN) and keeps edits local.

Two options of the adversarial wrappers use what D looks at while G learns:

- **Explanation guidance** (Nagisetty et al., "xAI-GAN", 2020). On the generated images passed to
  D in G's loss, an identity whose backward pass multiplies the incoming gradient by
  `1 + weight * mask`, where `mask` is D's saliency |dD/dx| of those images, normalised per image
  to [0, 1] and held constant (stop-gradient). G's gradient is amplified where D looks; with
  weight 0 the wrappers skip the option entirely, so training is bit-identical to plain training.
- **Locality** (translation families). `locality_weight * mean((1 - mask) * |G(x) - x|)`: edits
  outside the region D's explanation marks cost extra, so G changes what D judges and leaves the
  rest of the photo alone. Reported as the tracked term `locality_loss`.

The mask is computed with D in inference mode (no dropout draw, no batch-statistics update), on
a detached copy of the images, so it neither changes D nor lets G's gradient flow through the
explanation itself.
"""

from __future__ import annotations

import tensorflow as tf


def _realness(outputs):
    """Per-example sum of D's adversarial output (the first output when D returns a list)."""
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    outputs = tf.cast(outputs, tf.float32)
    return tf.reduce_sum(tf.reshape(outputs, [tf.shape(outputs)[0], -1]), axis=1)


def saliency_mask(discriminate, images):
    """D's saliency of `images`, |d realness / dx| (max over channels), in [0, 1] per image.

    Args:
        discriminate: callable. Maps images `(batch, H, W, C)` to D's output (logits of any
            shape per example, or a list whose first entry is the adversarial output).
        images: tensor `(batch, H, W, C)`.

    Returns:
        A float32 tensor `(batch, H, W, 1)` in [0, 1], with no gradient: each image's saliency
        divided by its maximum (an all-zero saliency stays zero).
    """
    images = tf.stop_gradient(tf.cast(images, tf.float32))
    with tf.GradientTape() as tape:
        tape.watch(images)
        score = tf.reduce_sum(_realness(discriminate(images)))
    gradients = tape.gradient(score, images)
    saliency = tf.reduce_max(tf.abs(gradients), axis=-1, keepdims=True)
    peak = tf.reduce_max(saliency, axis=[1, 2, 3], keepdims=True)
    mask = tf.math.divide_no_nan(saliency, peak)
    return tf.stop_gradient(mask)


def scale_gradient(images, mask, weight):
    """Identity on `images` whose gradient is multiplied by `1 + weight * mask` on the way back.

    Args:
        images: tensor `(batch, H, W, C)`.
        mask: tensor broadcastable to `images` (e.g. `(batch, H, W, 1)`), held constant.
        weight: float. 0 gives back the incoming gradient unchanged (bit for bit).

    Returns:
        `images`, unchanged in the forward pass.
    """
    factor = tf.stop_gradient(1.0 + float(weight) * tf.cast(mask, images.dtype))

    @tf.custom_gradient
    def identity(x):
        def backward(upstream):
            return upstream * factor

        return tf.identity(x), backward

    return identity(images)


def guide_images(discriminate, images, weight):
    """`images` with xAI-GAN's explanation-guided gradient: `scale_gradient` by D's saliency.

    Args:
        discriminate: callable. D on images (see `saliency_mask`); called in inference mode.
        images: tensor. The generated images about to be judged in G's loss.
        weight: float >= 0. Guidance strength.

    Returns:
        `images` (same values) whose backward pass is scaled by `1 + weight * mask`.

    References:
        Nagisetty et al., "xAI-GAN: Enhancing Generative Adversarial Networks via Explainable AI
        Systems", 2020.
    """
    return scale_gradient(images, saliency_mask(discriminate, images), weight)


def locality_penalty(source_images, output_images, mask):
    """Per-example mean of `(1 - mask) * |output - source|`: edits outside D's region.

    Args:
        source_images: tensor `(batch, H, W, C)`. G's input x.
        output_images: tensor `(batch, H, W, C)`. G(x).
        mask: tensor `(batch, H, W, 1)` in [0, 1], held constant (see `saliency_mask`).

    Returns:
        A float32 tensor `(batch,)`.
    """
    change = tf.abs(tf.cast(output_images, tf.float32) - tf.cast(source_images, tf.float32))
    outside = (1.0 - tf.stop_gradient(tf.cast(mask, tf.float32))) * change
    return tf.reduce_mean(outside, axis=[1, 2, 3])
