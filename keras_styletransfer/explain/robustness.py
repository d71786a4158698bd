"""Robustness probes: how much G's output, D's verdict and an explanation move under perturbation.

- `stability_curves`: mean |G(x') - G(x)| and PSNR(G(x), G(x')), and D's verdict change and flip
  rate, under Gaussian noise (several sigmas), Gaussian blur (several kernel sizes) and JPEG
  compression (several qualities).
- `attack_generator` / `attack_discriminator`: FGSM and PGD within an L-inf ball of radius
  epsilon that maximise G's output change or flip D's verdict, reported as amplification over
  random sign noise of the same epsilon (a ratio > 1 means the network is more fragile in the
  worst direction than in a random one).
- `explanation_stability`: Spearman rank correlation and top-k overlap between an explanation of
  x and of x + small noise (Ghorbani et al., "Interpretation of Neural Networks is Fragile", 2019).

Images are float in [-1, 1], NHWC; every perturbed image is clipped back to [-1, 1]. D's verdict
is the per-image mean of its (first) output, a logit: "real" when > 0.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from keras_styletransfer.errors import InputError
from keras_styletransfer.images import image_psnr
from keras_styletransfer.losses import per_example_mean
from keras_styletransfer.validation import (
    check_int,
    check_number,
    check_positive_int,
    check_positive_number,
)

DEFAULT_SIGMAS = (0.0, 0.02, 0.05, 0.1, 0.2)
DEFAULT_BLUR_SIZES = (1, 3, 5, 7)
DEFAULT_JPEG_QUALITIES = (100, 75, 50, 25, 10)


def _as_images(images):
    array = np.asarray(images, dtype="float32")
    if array.ndim != 4:
        raise InputError(
            f"images must be a batch (batch, H, W, C) in [-1, 1]; received shape {array.shape}."
        )
    return array


def _call(model, images):
    """A model or callable on images, as a float32 tensor (the first output of a list)."""
    outputs = model(images, training=False) if hasattr(model, "trainable_variables") else None
    if outputs is None:
        outputs = model(images)
    if isinstance(outputs, (list, tuple)):
        outputs = outputs[0]
    return tf.cast(outputs, tf.float32)


def verdict(discriminator, images):
    """D's per-image verdict: the mean of its (first) output, a logit (> 0 reads "real").

    Args:
        discriminator: keras.Model or callable on images.
        images: array or tensor (batch, H, W, C).

    Returns:
        A float32 tensor (batch,).
    """
    return per_example_mean(_call(discriminator, images))


# --- perturbations ---------------------------------------------------------------------------


def gaussian_noise(images, sigma, seed=0):
    """`images + N(0, sigma^2)`, clipped to [-1, 1]; sigma 0 returns the images unchanged.

    Args:
        images: array (batch, H, W, C) in [-1, 1].
        sigma: float >= 0. Noise standard deviation, in the [-1, 1] units of the images.
        seed: int. Defaults to 0.

    Returns:
        np.ndarray of the same shape.
    """
    images = _as_images(images)
    sigma = check_number(sigma, "sigma", low=0.0)
    if sigma == 0:
        return images.copy()
    noise = np.random.default_rng(seed).normal(0.0, sigma, images.shape).astype("float32")
    return np.clip(images + noise, -1.0, 1.0)


def blur(images, kernel_size):
    """Gaussian blur with an odd `kernel_size` (sigma = kernel_size / 4; 1 is the identity).

    Args:
        images: array (batch, H, W, C).
        kernel_size: int, odd, >= 1.

    Returns:
        np.ndarray of the same shape (reflect-padded borders).
    """
    images = _as_images(images)
    kernel_size = check_positive_int(kernel_size, "kernel_size")
    if kernel_size % 2 == 0:
        raise InputError(f"kernel_size must be odd (1, 3, 5, ...); received {kernel_size}.")
    if kernel_size == 1:
        return images.copy()
    sigma = kernel_size / 4.0
    offsets = np.arange(kernel_size, dtype="float32") - kernel_size // 2
    line = np.exp(-0.5 * (offsets / sigma) ** 2)
    line /= line.sum()
    channels = images.shape[-1]
    kernel = np.outer(line, line)[:, :, None, None] * np.ones((1, 1, channels, 1), "float32")
    pad = kernel_size // 2
    padded = tf.pad(images, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode="REFLECT")
    return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID").numpy()


def jpeg(images, quality):
    """JPEG-compress and decode each image at `quality` (1-100), via `tf.image`.

    Args:
        images: array (batch, H, W, C) with 1 or 3 channels, in [-1, 1].
        quality: int in [1, 100].

    Returns:
        np.ndarray of the same shape, in [-1, 1] (quantised to 8 bits like any JPEG).
    """
    images = _as_images(images)
    quality = check_int(quality, "JPEG quality", low=1, high=100)
    if images.shape[-1] not in (1, 3):
        raise InputError(f"JPEG needs 1 or 3 channels; the images have {images.shape[-1]}.")
    unit = (np.clip(images, -1, 1) + 1.0) / 2.0
    out = [tf.image.adjust_jpeg_quality(image, quality).numpy() for image in unit]
    return (np.stack(out).astype("float32") * 2.0 - 1.0).reshape(images.shape)


PERTURBATIONS = {
    "gaussian_noise": ("sigma", lambda images, value, seed: gaussian_noise(images, value, seed)),
    "blur": ("kernel_size", lambda images, value, seed: blur(images, int(value))),
    "jpeg": ("quality", lambda images, value, seed: jpeg(images, int(value))),
}


def perturb(images, kind, value, seed=0):
    """Apply the perturbation `kind` ("gaussian_noise", "blur" or "jpeg") at `value`."""
    if kind not in PERTURBATIONS:
        raise InputError(
            f"Unknown perturbation {kind!r}; choose one of {', '.join(PERTURBATIONS)}."
        )
    return PERTURBATIONS[kind][1](images, value, seed)


# --- stability curves ------------------------------------------------------------------------


@dataclasses.dataclass
class StabilityCurve:
    """One perturbation swept over its parameter.

    Attributes:
        perturbation: str. "gaussian_noise", "blur" or "jpeg".
        parameter: str. "sigma", "kernel_size" or "quality".
        values: list. The parameter values, in the order given.
        input_change: list of float. Mean |x' - x| per value.
        output_change: list of float or None. Mean |G(x') - G(x)| (None without a generator).
        output_psnr: list of float or None. Mean PSNR(G(x), G(x')) in dB (inf when identical).
        verdict_change: list of float or None. Mean |D(x') - D(x)| of the verdict logits.
        verdict_flip_rate: list of float or None. Fraction of images whose verdict changes side.
    """

    perturbation: str
    parameter: str
    values: list
    input_change: list
    output_change: list | None = None
    output_psnr: list | None = None
    verdict_change: list | None = None
    verdict_flip_rate: list | None = None

    def to_dict(self):
        return dataclasses.asdict(self)


def stability_curves(
    images,
    generator=None,
    discriminator=None,
    sigmas=DEFAULT_SIGMAS,
    blur_sizes=DEFAULT_BLUR_SIZES,
    jpeg_qualities=DEFAULT_JPEG_QUALITIES,
    seed=0,
):
    """How G's output and D's verdict change under noise, blur and JPEG.

    Args:
        images: array (batch, H, W, C) in [-1, 1]: G's inputs and/or D's inputs.
        generator: keras.Model or callable, image to image. Defaults to None.
        discriminator: keras.Model or callable on images. Defaults to None.
        sigmas: Gaussian noise sigmas. Defaults to (0, 0.02, 0.05, 0.1, 0.2).
        blur_sizes: odd blur kernel sizes. Defaults to (1, 3, 5, 7).
        jpeg_qualities: JPEG qualities. Defaults to (100, 75, 50, 25, 10).
        seed: int. Noise seed. Defaults to 0.

    Returns:
        list of `StabilityCurve`, one per perturbation with a non-empty value list.
    """
    images = _as_images(images)
    if generator is None and discriminator is None:
        raise InputError("stability_curves needs a generator=..., a discriminator=..., or both.")
    clean_output = None if generator is None else _call(generator, images).numpy()
    clean_verdict = None if discriminator is None else verdict(discriminator, images).numpy()
    curves = []
    for kind, values in (
        ("gaussian_noise", sigmas),
        ("blur", blur_sizes),
        ("jpeg", jpeg_qualities),
    ):
        values = list(values or [])
        if not values:
            continue
        curve = StabilityCurve(kind, PERTURBATIONS[kind][0], values, [])
        if generator is not None:
            curve.output_change, curve.output_psnr = [], []
        if discriminator is not None:
            curve.verdict_change, curve.verdict_flip_rate = [], []
        for value in values:
            perturbed = perturb(images, kind, value, seed)
            curve.input_change.append(float(np.mean(np.abs(perturbed - images))))
            if generator is not None:
                output = _call(generator, perturbed).numpy()
                curve.output_change.append(float(np.mean(np.abs(output - clean_output))))
                curve.output_psnr.append(float(np.mean(image_psnr(clean_output, output))))
            if discriminator is not None:
                scores = verdict(discriminator, perturbed).numpy()
                curve.verdict_change.append(float(np.mean(np.abs(scores - clean_verdict))))
                curve.verdict_flip_rate.append(float(np.mean((scores > 0) != (clean_verdict > 0))))
        curves.append(curve)
    return curves


# --- attacks ---------------------------------------------------------------------------------


def _gradient(objective, images):
    images = tf.convert_to_tensor(images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(images)
        value = objective(images)
        total = tf.reduce_sum(value)
    return value.numpy(), tape.gradient(total, images).numpy()


def _project(adversarial, images, epsilon):
    return np.clip(np.clip(adversarial, images - epsilon, images + epsilon), -1.0, 1.0)


def fgsm(objective, images, epsilon, start=None):
    """Fast gradient sign method: one step of size epsilon up the objective's gradient.

    Args:
        objective: callable. Tensor images -> per-image values (batch,) to maximise.
        images: array (batch, H, W, C) in [-1, 1].
        epsilon: float. L-inf radius.
        start: array or None. Where the gradient is taken (inside the ball); the step is from
            `images`. Defaults to the images.

    Returns:
        np.ndarray: adversarial images within epsilon of `images` (L-inf) and in [-1, 1].

    References:
        Goodfellow et al., "Explaining and Harnessing Adversarial Examples", 2015.
    """
    images = _as_images(images)
    _, gradients = _gradient(objective, images if start is None else start)
    return _project(images + epsilon * np.sign(gradients), images, epsilon)


def pgd(objective, images, epsilon, steps=10, step_size=None, start=None, score=None):
    """Projected gradient ascent in the L-inf ball, keeping each image's best iterate.

    Args:
        objective: callable. Tensor images -> per-image values (batch,) to maximise.
        images: array (batch, H, W, C) in [-1, 1].
        epsilon: float. L-inf radius.
        steps: int. Defaults to 10.
        step_size: float. Defaults to 2.5 * epsilon / steps (Madry et al.).
        start: array or None. First iterate (e.g. the FGSM result). Defaults to the images.
        score: callable or None. NumPy images -> per-image values used to pick the best
            iterate (e.g. the reported change). Defaults to the objective.

    Returns:
        np.ndarray: adversarial images, the best iterate per image (the start included).

    References:
        Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", 2018.
    """
    images = _as_images(images)
    if step_size is None:
        step_size = 2.5 * epsilon / steps
    current = images.copy() if start is None else _project(np.asarray(start), images, epsilon)

    def judge(candidates):
        if score is not None:
            return score(candidates)
        return objective(tf.convert_to_tensor(candidates)).numpy()

    best, best_score = current.copy(), judge(current)
    for _ in range(steps):
        _, gradients = _gradient(objective, current)
        current = _project(current + step_size * np.sign(gradients), images, epsilon)
        values = judge(current)
        better = values > best_score
        best[better], best_score[better] = current[better], values[better]
    return best


def random_sign_noise(images, epsilon, seed=0):
    """`images + epsilon * random signs`, clipped to [-1, 1]: the attack's random baseline."""
    images = _as_images(images)
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=images.shape).astype("float32")
    return np.clip(images + epsilon * signs, -1.0, 1.0)


@dataclasses.dataclass
class AttackResult:
    """An attack at one epsilon, and what random sign noise of the same size does.

    Attributes:
        target: str. "generator" or "discriminator".
        epsilon: float. L-inf radius, in the [-1, 1] units of the images.
        random_change: float. Mean change under random sign noise (G: mean |G(x') - G(x)|;
            D: mean |D(x') - D(x)|).
        fgsm_change: float. The same under FGSM.
        pgd_change: float. The same under PGD.
        fgsm_amplification: float. fgsm_change / random_change.
        pgd_amplification: float. pgd_change / random_change.
        random_flip_rate, fgsm_flip_rate, pgd_flip_rate: float or None. D only: fraction of
            images whose verdict changes side.
    """

    target: str
    epsilon: float
    random_change: float
    fgsm_change: float
    pgd_change: float
    fgsm_amplification: float
    pgd_amplification: float
    random_flip_rate: float | None = None
    fgsm_flip_rate: float | None = None
    pgd_flip_rate: float | None = None

    def to_dict(self):
        return dataclasses.asdict(self)


def attack_generator(generator, images, epsilon, steps=10, seed=0):
    """FGSM and PGD that maximise G's output change within an L-inf ball of radius epsilon.

    At x itself the change |G(x') - G(x)| is 0 with zero gradient, so FGSM takes its gradient of
    the squared change at a tiny random offset (1e-3 epsilon): one step of power iteration
    towards G's most sensitive direction. PGD starts from the FGSM image and keeps each image's
    best iterate by the reported change, so its change is never below FGSM's.

    Args:
        generator: keras.Model or callable, image to image.
        images: array (batch, H, W, C) in [-1, 1].
        epsilon: float. L-inf radius.
        steps: int. PGD steps. Defaults to 10.
        seed: int. Defaults to 0.

    Returns:
        AttackResult (flip rates None).
    """
    images = _as_images(images)
    epsilon = check_positive_number(epsilon, "epsilon (L-inf, [-1, 1] units)")
    clean = _call(generator, images)
    clean_numpy = clean.numpy()

    def objective(candidates):
        change = _call(generator, candidates) - clean
        return tf.reduce_sum(tf.reshape(tf.square(change), [tf.shape(change)[0], -1]), axis=1)

    def change_of(candidates):
        return np.mean(np.abs(_call(generator, candidates).numpy() - clean_numpy), axis=(1, 2, 3))

    offset = random_sign_noise(images, 1e-3 * epsilon, seed)
    fgsm_images = fgsm(objective, images, epsilon, start=offset)
    pgd_images = pgd(objective, images, epsilon, steps=steps, start=fgsm_images, score=change_of)
    random_change = float(np.mean(change_of(random_sign_noise(images, epsilon, seed + 1))))
    fgsm_change = float(np.mean(change_of(fgsm_images)))
    pgd_change = float(np.mean(change_of(pgd_images)))
    return AttackResult(
        "generator",
        epsilon,
        random_change,
        fgsm_change,
        pgd_change,
        fgsm_change / max(random_change, 1e-12),
        pgd_change / max(random_change, 1e-12),
    )


def attack_discriminator(discriminator, images, epsilon, steps=10, seed=0):
    """FGSM and PGD that push D's verdict across 0 (real <-> fake) within epsilon (L-inf).

    The objective is `-sign(D(x)) * D(x')`: lower the score of images D calls real, raise it
    for images D calls fake. PGD starts from the FGSM image and keeps each image's best iterate.

    Args:
        discriminator: keras.Model or callable on images.
        images: array (batch, H, W, C) in [-1, 1].
        epsilon: float. L-inf radius.
        steps: int. PGD steps. Defaults to 10.
        seed: int. Defaults to 0.

    Returns:
        AttackResult with flip rates.
    """
    images = _as_images(images)
    epsilon = check_positive_number(epsilon, "epsilon (L-inf, [-1, 1] units)")
    clean = verdict(discriminator, images).numpy()
    direction = tf.constant(np.where(clean > 0, -1.0, 1.0).astype("float32"))

    def objective(candidates):
        return direction * verdict(discriminator, candidates)

    def scores(candidates):
        return verdict(discriminator, candidates).numpy()

    fgsm_images = fgsm(objective, images, epsilon)
    pgd_images = pgd(objective, images, epsilon, steps=steps, start=fgsm_images)
    results = {}
    for name, candidates in (
        ("random", random_sign_noise(images, epsilon, seed)),
        ("fgsm", fgsm_images),
        ("pgd", pgd_images),
    ):
        values = scores(candidates)
        results[name] = (
            float(np.mean(np.abs(values - clean))),
            float(np.mean((values > 0) != (clean > 0))),
        )
    random_change = results["random"][0]
    return AttackResult(
        "discriminator",
        epsilon,
        random_change,
        results["fgsm"][0],
        results["pgd"][0],
        results["fgsm"][0] / max(random_change, 1e-12),
        results["pgd"][0] / max(random_change, 1e-12),
        results["random"][1],
        results["fgsm"][1],
        results["pgd"][1],
    )


# --- explanations ----------------------------------------------------------------------------


def _ranks(values):
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values), dtype="float64")
    ranks[order] = np.arange(len(values))
    return ranks


def spearman(first, second):
    """Spearman rank correlation of two maps (flattened); 1 for identical rankings."""
    first, second = _ranks(np.ravel(first)), _ranks(np.ravel(second))
    first, second = first - first.mean(), second - second.mean()
    denominator = np.sqrt((first**2).sum() * (second**2).sum())
    return float((first * second).sum() / denominator) if denominator else 1.0


def top_k_overlap(first, second, fraction=0.1):
    """Fraction of the top `fraction` pixels of `first` that are also top in `second`."""
    first, second = np.ravel(first), np.ravel(second)
    count = max(1, round(fraction * first.size))
    top_first = set(np.argsort(-first, kind="stable")[:count].tolist())
    top_second = set(np.argsort(-second, kind="stable")[:count].tolist())
    return len(top_first & top_second) / count


@dataclasses.dataclass
class ExplanationStability:
    """How an explanation changes under a (small) perturbation of its input.

    Attributes:
        perturbation: str. "gaussian_noise", "blur" or "jpeg".
        parameter: str. "sigma", "kernel_size" or "quality".
        values: list. Parameter values (noise sigmas are in [-1, 1] units: 0.01 is ~1.3 of 255
            grey levels).
        spearman: list of float. Mean Spearman correlation of the maps, per value.
        top_k_overlap: list of float. Mean overlap of the top `top_fraction` pixels, per value.
        top_fraction: float.
        input_change: list of float. Mean |x' - x| of the inputs, per value (for scale).
    """

    perturbation: str
    parameter: str
    values: list
    spearman: list
    top_k_overlap: list
    top_fraction: float
    input_change: list

    def to_dict(self):
        return dataclasses.asdict(self)


def saliency_explainer(discriminator, source=None):
    """`explain_fn(images) -> (batch, H, W)`: |d realness / dx| (max over channels) of D.

    Uses `keras_styletransfer.explain.attribution.saliency` on the "realness" target.
    """
    from keras_styletransfer.explain.attribution import saliency
    from keras_styletransfer.explain.targets import build_target

    target = build_target("realness", discriminator=discriminator, source=source)

    def explain_fn(images):
        return np.abs(saliency(target, images)).max(axis=-1)

    return explain_fn


def explanation_stability(
    images,
    explain_fn=None,
    discriminator=None,
    values=None,
    perturbation="gaussian_noise",
    top_fraction=0.1,
    seed=0,
):
    """Spearman correlation and top-k overlap between explanations of x and of a perturbed x.

    Args:
        images: array (batch, H, W, C) in [-1, 1].
        explain_fn: callable. Images -> maps (batch, H, W) (or (batch, H, W, C), reduced by max
            of absolute values). Defaults to `saliency_explainer(discriminator)`.
        discriminator: keras.Model. Needed when `explain_fn` is None.
        values: the perturbation's parameter values. Defaults to sigmas (0, 0.005, 0.01, 0.02)
            for noise, kernel sizes (1, 3) for blur, qualities (100, 90, 75) for JPEG.
        perturbation: str. "gaussian_noise", "blur" or "jpeg". Defaults to "gaussian_noise".
        top_fraction: float in (0, 1]. Defaults to 0.1.
        seed: int. Defaults to 0.

    Returns:
        ExplanationStability.
    """
    images = _as_images(images)
    if explain_fn is None:
        if discriminator is None:
            raise InputError("explanation_stability needs explain_fn=... or discriminator=....")
        explain_fn = saliency_explainer(discriminator)
    top_fraction = check_number(top_fraction, "top_fraction", low=0.0, high=1.0, low_open=True)

    def maps_of(batch):
        maps = np.asarray(explain_fn(batch), dtype="float64")
        return np.abs(maps).max(axis=-1) if maps.ndim == 4 else maps

    if perturbation not in PERTURBATIONS:
        raise InputError(
            f"Unknown perturbation {perturbation!r}; choose one of {', '.join(PERTURBATIONS)}."
        )
    if values is None:
        values = {"gaussian_noise": (0.0, 0.005, 0.01, 0.02), "blur": (1, 3)}.get(
            perturbation, (100, 90, 75)
        )
    clean = maps_of(images)
    result = ExplanationStability(
        perturbation, PERTURBATIONS[perturbation][0], [], [], [], float(top_fraction), []
    )
    for value in values:
        noisy = perturb(images, perturbation, value, seed)
        maps = maps_of(noisy)
        result.values.append(value)
        result.input_change.append(float(np.mean(np.abs(noisy - images))))
        result.spearman.append(
            float(np.mean([spearman(a, b) for a, b in zip(clean, maps, strict=True)]))
        )
        result.top_k_overlap.append(
            float(
                np.mean(
                    [top_k_overlap(a, b, top_fraction) for a, b in zip(clean, maps, strict=True)]
                )
            )
        )
    return result
