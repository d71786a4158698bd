"""Adversarial losses and penalties as pure, paired functions.

Every adversarial loss takes discriminator *logits* (never probabilities) and returns a
per-example vector of shape `(batch,)`: any spatial axes (a PatchGAN map) are averaged per
example. The caller reduces over the *global* batch (see `reduce_over_global_batch`) so that one
replica and N replicas make the same update.

Paper symbols: D(x) is `real_logits`, D(G(z)) is `fake_logits`, sigma is the logistic sigmoid.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import tensorflow as tf


def per_example_mean(values):
    """Average every axis but the first, giving one value per example."""
    values = tf.convert_to_tensor(values)
    if values.shape.rank is not None and values.shape.rank <= 1:
        return tf.reshape(values, [-1])
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def reduce_over_global_batch(per_example_loss, global_batch_size=None):
    """Reduce a per-example loss to a scalar over the global batch.

    Inside a `tf.distribute` replica context the sum of the local values is divided by the global
    batch size, so gradients summed across replicas equal the single-device gradient of the mean.
    Outside one it is the plain mean.

    Args:
        per_example_loss: tensor of shape `(batch,)`.
        global_batch_size: int or scalar tensor. The batch size over all replicas. Defaults to
            the local batch size times the number of replicas.

    Returns:
        A scalar tensor.
    """
    return tf.nn.compute_average_loss(per_example_loss, global_batch_size=global_batch_size)


# --- non-saturating (default) -----------------------------------------------------------------


def non_saturating_generator_loss(fake_logits):
    """Non-saturating generator loss, -log sigma(D(G(z))) (Goodfellow et al., 2014, sec. 3).

    Computed as `softplus(-fake_logits)`, which is exact and stable for large logits.

    Args:
        fake_logits: tensor `(batch, ...)`. D's logits on generated images.

    Returns:
        Per-example loss `(batch,)`.
    """
    return per_example_mean(tf.nn.softplus(-tf.convert_to_tensor(fake_logits)))


def non_saturating_discriminator_loss(real_logits, fake_logits):
    """Discriminator cross-entropy, -log sigma(D(x)) - log(1 - sigma(D(G(z)))).

    Both halves are included (the MLP GAN source logged only the real half).

    Args:
        real_logits: tensor `(batch, ...)`. D's logits on real images.
        fake_logits: tensor `(batch, ...)`. D's logits on generated images.

    Returns:
        Per-example loss `(batch,)`: real half plus fake half.
    """
    return _cross_entropy_real_half(real_logits) + _cross_entropy_fake_half(fake_logits)


# --- minimax (the original saturating objective) ----------------------------------------------


def minimax_generator_loss(fake_logits):
    """Saturating minimax generator loss, log(1 - sigma(D(G(z)))) (Goodfellow et al., 2014, eq. 1).

    Its gradient vanishes when D confidently rejects the fakes; kept for completeness and for the
    documents' formula (the MLP GAN source wrote it with the wrong sign).

    Args:
        fake_logits: tensor `(batch, ...)`.

    Returns:
        Per-example loss `(batch,)`, equal to `-softplus(fake_logits)`.
    """
    return per_example_mean(-tf.nn.softplus(tf.convert_to_tensor(fake_logits)))


minimax_discriminator_loss = non_saturating_discriminator_loss


# --- least squares ----------------------------------------------------------------------------


def least_squares_generator_loss(fake_logits):
    """LSGAN generator loss, 1/2 (D(G(z)) - 1)^2 (Mao et al., 2017, eq. 9 with c = 1).

    Args:
        fake_logits: tensor `(batch, ...)`. D's raw (linear) outputs on generated images.

    Returns:
        Per-example loss `(batch,)`.
    """
    return per_example_mean(0.5 * tf.square(tf.convert_to_tensor(fake_logits) - 1.0))


def least_squares_discriminator_loss(real_logits, fake_logits):
    """LSGAN discriminator loss, 1/2 (D(x) - 1)^2 + 1/2 D(G(z))^2 (Mao et al., 2017, a=0, b=1).

    Args:
        real_logits: tensor `(batch, ...)`.
        fake_logits: tensor `(batch, ...)`.

    Returns:
        Per-example loss `(batch,)`.
    """
    return _least_squares_real_half(real_logits) + _least_squares_fake_half(fake_logits)


# --- Wasserstein ------------------------------------------------------------------------------


def wasserstein_generator_loss(fake_logits):
    """WGAN generator loss, -D(G(z)) (Arjovsky et al., 2017).

    Args:
        fake_logits: tensor `(batch, ...)`. The critic's scores on generated images.

    Returns:
        Per-example loss `(batch,)`.
    """
    return per_example_mean(-tf.convert_to_tensor(fake_logits))


def wasserstein_discriminator_loss(real_logits, fake_logits):
    """WGAN critic loss, D(G(z)) - D(x): the value V with the sign that the critic minimises.

    Use with `gradient_penalty` (WGAN-GP, Gulrajani et al., 2017); without a Lipschitz constraint
    the critic's scores grow without bound.

    Args:
        real_logits: tensor `(batch, ...)`.
        fake_logits: tensor `(batch, ...)`.

    Returns:
        Per-example loss `(batch,)`.
    """
    return _wasserstein_real_half(real_logits) + _wasserstein_fake_half(fake_logits)


# --- hinge ------------------------------------------------------------------------------------


def hinge_generator_loss(fake_logits):
    """Hinge generator loss, -D(G(z)) (Lim & Ye, 2017; Miyato et al., 2018).

    Args:
        fake_logits: tensor `(batch, ...)`.

    Returns:
        Per-example loss `(batch,)`.
    """
    return per_example_mean(-tf.convert_to_tensor(fake_logits))


def hinge_discriminator_loss(real_logits, fake_logits):
    """Hinge discriminator loss, max(0, 1 - D(x)) + max(0, 1 + D(G(z))).

    Args:
        real_logits: tensor `(batch, ...)`.
        fake_logits: tensor `(batch, ...)`.

    Returns:
        Per-example loss `(batch,)`.
    """
    return _hinge_real_half(real_logits) + _hinge_fake_half(fake_logits)


# --- penalties --------------------------------------------------------------------------------


def safe_l2_norm(values, epsilon=1e-12):
    """Per-example L2 norm sqrt(sum(v^2) + epsilon) over all non-batch axes.

    The epsilon keeps the gradient of the norm finite where `values` is exactly zero
    (d sqrt(u) / du is infinite at 0, which gave NaN in the keras-io WGAN-GP example).

    Args:
        values: tensor `(batch, ...)`.
        epsilon: float. Added under the square root. Defaults to 1e-12.

    Returns:
        Tensor `(batch,)`.
    """
    values = tf.convert_to_tensor(values)
    flat = tf.reshape(values, [tf.shape(values)[0], -1])
    return tf.sqrt(tf.reduce_sum(tf.square(flat), axis=1) + epsilon)


def gradient_penalty(discriminator, real_images, fake_images, interpolation_weights):
    """WGAN-GP penalty (||grad D(x_hat)||_2 - 1)^2 at x_hat = w x + (1 - w) G(z).

    Args:
        discriminator: callable. Maps images to logits.
        real_images: tensor `(batch, H, W, C)` or `(batch, features)`.
        fake_images: tensor of the same shape.
        interpolation_weights: tensor `(batch,)`. One weight per example, drawn from
            Uniform(0, 1) by the caller (the keras-io example wrongly drew them from a normal).

    Returns:
        Per-example penalty `(batch,)`.

    References:
        Gulrajani et al., "Improved Training of Wasserstein GANs", 2017, Algorithm 1.
    """
    real_images = tf.convert_to_tensor(real_images)
    fake_images = tf.cast(fake_images, real_images.dtype)
    rank = real_images.shape.rank
    weights = tf.reshape(tf.cast(interpolation_weights, real_images.dtype), [-1] + [1] * (rank - 1))
    interpolated = weights * real_images + (1.0 - weights) * fake_images
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        logits = discriminator(interpolated, training=True)
        # The sum makes each example's gradient its own (examples do not interact in D).
        total = tf.reduce_sum(tf.cast(logits, tf.float32))
    gradients = tape.gradient(total, interpolated)
    return tf.square(safe_l2_norm(gradients) - 1.0)


def r1_penalty(discriminator, real_images):
    """R1 penalty 1/2 ||grad D(x)||^2 on real images (Mescheder et al., 2018, eq. 9).

    Multiply by the weight gamma in the caller.

    Args:
        discriminator: callable. Maps images to logits.
        real_images: tensor `(batch, ...)`.

    Returns:
        Per-example penalty `(batch,)`.
    """
    real_images = tf.convert_to_tensor(real_images)
    with tf.GradientTape() as tape:
        tape.watch(real_images)
        total = tf.reduce_sum(tf.cast(discriminator(real_images, training=True), tf.float32))
    gradients = tape.gradient(total, real_images)
    flat = tf.reshape(gradients, [tf.shape(gradients)[0], -1])
    return 0.5 * tf.reduce_sum(tf.square(flat), axis=1)


# --- diversity (mode seeking) ----------------------------------------------------------------


def diversity_ratio(images, noise):
    """How much G's output moves per unit of noise, for pairs (example i, example i + B/2).

    ratio_i = mean|G(z_i) - G(z_j)| / mean|z_i - z_j|. A collapsed generator, whose output no
    longer depends on z, has ratios near 0; the value is logged as `g_diversity` by the GAN.

    Args:
        images: tensor `(batch, ...)`. G(z).
        noise: tensor `(batch, latent_dim)`. z.

    Returns:
        Tensor `(batch // 2,)`, one ratio per pair.
    """
    images = tf.cast(images, tf.float32)
    noise = tf.cast(noise, tf.float32)
    half = tf.shape(images)[0] // 2
    image_distance = per_example_mean(tf.abs(images[:half] - images[half : 2 * half]))
    noise_distance = per_example_mean(tf.abs(noise[:half] - noise[half : 2 * half]))
    return image_distance / (noise_distance + 1e-8)


def mode_seeking_loss(images, noise, epsilon=1e-5):
    """Mode-seeking penalty 1 / (ratio + epsilon) per example (Mao et al., MSGAN, CVPR 2019, eq. 3).

    Minimising it pushes G to map different noise to different images, the remedy for a
    generator that collapses to one output. Each pair's value is given to both of its members
    (an odd last example gets 0) so it adds to the per-example adversarial loss.

    Args:
        images: tensor `(batch, ...)`. G(z).
        noise: tensor `(batch, latent_dim)`.
        epsilon: float. Defaults to 1e-5.

    Returns:
        Tensor `(batch,)`.
    """
    penalty = 1.0 / (diversity_ratio(images, noise) + epsilon)
    batch = tf.shape(images)[0]
    leftover = tf.zeros([batch - 2 * tf.shape(penalty)[0]], penalty.dtype)
    return tf.concat([penalty, penalty, leftover], axis=0)


# --- reconstruction and classification terms (image-to-image models) ---------------------------


def l1_loss(targets, outputs):
    """Mean absolute error per example, mean |y - G(x)| over pixels and channels.

    pix2pix's reconstruction term (Isola et al., 2017, eq. 3), CycleGAN's cycle term
    |F(G(x)) - x| and identity term |G(y) - y| (Zhu et al., 2017, eq. 2).

    Args:
        targets: tensor `(batch, ...)`.
        outputs: tensor of the same shape.

    Returns:
        A `(batch,)` tensor.
    """
    return _per_example_error(targets, outputs, tf.abs)


def l2_loss(targets, outputs):
    """Mean squared error per example, mean (y - G(x))^2 over pixels and channels.

    The reconstruction term of restoration models scored by PSNR (the mean squared error's own
    measure): a residual generator that starts as the identity leaves it under this term, where
    under L1 it stayed at the identity on denoising (whose per-pixel median correction is 0).

    Args:
        targets: tensor `(batch, ...)`.
        outputs: tensor of the same shape.

    Returns:
        A `(batch,)` tensor.
    """
    return _per_example_error(targets, outputs, tf.square)


def _per_example_error(targets, outputs, measure):
    """`per_example_mean(measure(targets - outputs))`, outputs cast to the targets' dtype."""
    targets = tf.convert_to_tensor(targets)
    outputs = tf.cast(tf.convert_to_tensor(outputs), targets.dtype)
    return per_example_mean(measure(targets - outputs))


def style_classification_loss(style_indices, style_logits):
    """Cross-entropy of an auxiliary style classifier per example (AC-GAN / StarGAN).

    Args:
        style_indices: int tensor `(batch,)`, the true style of each image.
        style_logits: tensor `(batch, num_styles)`, unnormalised.

    Returns:
        A `(batch,)` tensor.
    """
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(tf.reshape(style_indices, [-1]), tf.int32),
        logits=tf.cast(style_logits, tf.float32),
    )


# --- registry ---------------------------------------------------------------------------------


class AdversarialLoss(NamedTuple):
    """A named adversarial objective: the generator's loss and the two halves of D's loss.

    `discriminator(real, fake) == real_half(real) + fake_half(fake)`; the halves let the GAN
    report each one (the MLP GAN source logged only the real half and called it D's loss).
    `decision_threshold` is the logit above which D calls an image real (for its accuracy):
    least squares targets 0 and 1, so 0.5; the others are centred on 0.
    """

    generator: Callable
    discriminator: Callable
    real_half: Callable
    fake_half: Callable
    decision_threshold: float


def _cross_entropy_real_half(real_logits):
    return per_example_mean(tf.nn.softplus(-tf.convert_to_tensor(real_logits)))


def _cross_entropy_fake_half(fake_logits):
    return per_example_mean(tf.nn.softplus(tf.convert_to_tensor(fake_logits)))


def _least_squares_real_half(real_logits):
    return per_example_mean(0.5 * tf.square(tf.convert_to_tensor(real_logits) - 1.0))


def _least_squares_fake_half(fake_logits):
    return per_example_mean(0.5 * tf.square(tf.convert_to_tensor(fake_logits)))


def _wasserstein_real_half(real_logits):
    return -per_example_mean(tf.convert_to_tensor(real_logits))


def _wasserstein_fake_half(fake_logits):
    return per_example_mean(tf.convert_to_tensor(fake_logits))


def _hinge_real_half(real_logits):
    return per_example_mean(tf.nn.relu(1.0 - tf.convert_to_tensor(real_logits)))


def _hinge_fake_half(fake_logits):
    return per_example_mean(tf.nn.relu(1.0 + tf.convert_to_tensor(fake_logits)))


ADVERSARIAL_LOSSES = {
    "non_saturating": AdversarialLoss(
        non_saturating_generator_loss,
        non_saturating_discriminator_loss,
        _cross_entropy_real_half,
        _cross_entropy_fake_half,
        0.0,
    ),
    "minimax": AdversarialLoss(
        minimax_generator_loss,
        minimax_discriminator_loss,
        _cross_entropy_real_half,
        _cross_entropy_fake_half,
        0.0,
    ),
    "least_squares": AdversarialLoss(
        least_squares_generator_loss,
        least_squares_discriminator_loss,
        _least_squares_real_half,
        _least_squares_fake_half,
        0.5,
    ),
    "wasserstein": AdversarialLoss(
        wasserstein_generator_loss,
        wasserstein_discriminator_loss,
        _wasserstein_real_half,
        _wasserstein_fake_half,
        0.0,
    ),
    "hinge": AdversarialLoss(
        hinge_generator_loss,
        hinge_discriminator_loss,
        _hinge_real_half,
        _hinge_fake_half,
        0.0,
    ),
}


def get_adversarial_loss(name):
    """Return the `AdversarialLoss` registered under `name`.

    Args:
        name: str. One of `ADVERSARIAL_LOSSES`: "non_saturating", "minimax", "least_squares",
            "wasserstein", "hinge".

    Returns:
        An `AdversarialLoss`.
    """
    if name not in ADVERSARIAL_LOSSES:
        raise ValueError(
            f"Unknown adversarial loss {name!r}. Choose one of: "
            f"{', '.join(sorted(ADVERSARIAL_LOSSES))}."
        )
    return ADVERSARIAL_LOSSES[name]


# --- explanation-guided training terms ---------------------------------------------------------
#
# Two options of the adversarial wrappers use what D looks at while G learns:
#
# - Explanation guidance (Nagisetty et al., "xAI-GAN", 2020). On the generated images passed to
#   D in G's loss, an identity whose backward pass multiplies the incoming gradient by
#   `1 + weight * mask`, where `mask` is D's saliency |dD/dx| of those images, normalised per
#   image to [0, 1] and held constant (stop-gradient). G's gradient is amplified where D looks;
#   with weight 0 the wrappers skip the option entirely, so training is bit-identical.
# - Locality (translation families). `locality_weight * mean((1 - mask) * |G(x) - x|)`: edits
#   outside the region D's explanation marks cost extra, so G changes what D judges and leaves
#   the rest of the photo alone. Reported as the tracked term `locality_loss`.
#
# The mask is computed with D in inference mode (no dropout draw, no batch-statistics update), on
# a detached copy of the images, so it neither changes D nor lets G's gradient flow through the
# explanation itself.


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


# --- contrastive term (CUT / FastCUT) ---------------------------------------------------------


def patch_nce_loss(query_features, key_features, temperature=0.07):
    """PatchNCE: each output patch must pick its own input patch among the image's others.

    For every location i of one image, the query q_i (a feature of G(x) at i) is scored against
    the key k_i of the input x at the same location (the positive) and the keys k_j, j != i, of
    the other sampled locations of the *same* image (the negatives); the loss is the
    cross-entropy of choosing the positive: `-log(exp(q_i.k_i / t) / sum_j exp(q_i.k_j / t))`.
    Features are L2-normalised first; the keys are held constant (no gradient), and the
    self-similarity q_i.k_i appears once (as the positive; its copy among the negatives is
    replaced by -10, as in the reference implementation).

    Args:
        query_features: tensor `(batch, patches, channels)`. Features of G(x).
        key_features: tensor of the same shape. Features of x at the same locations.
        temperature: float. tau. Defaults to 0.07.

    Returns:
        A float32 tensor `(batch,)`: the mean over the image's patches.

    References:
        Park et al., "Contrastive Learning for Unpaired Image-to-Image Translation", 2020,
        eq. 2-3.
    """
    query = tf.math.l2_normalize(tf.cast(query_features, tf.float32), axis=-1)
    key = tf.stop_gradient(tf.math.l2_normalize(tf.cast(key_features, tf.float32), axis=-1))
    positive = tf.reduce_sum(query * key, axis=-1, keepdims=True)  # (B, P, 1)
    negative = tf.matmul(query, key, transpose_b=True)  # (B, P, P)
    patches = tf.shape(negative)[1]
    diagonal = tf.eye(patches, dtype=tf.bool)[None]
    negative = tf.where(diagonal, tf.constant(-10.0), negative)
    logits = tf.concat([positive, negative], axis=-1) / temperature
    per_patch = tf.reduce_logsumexp(logits, axis=-1) - logits[..., 0]
    return tf.reduce_mean(per_patch, axis=-1)
