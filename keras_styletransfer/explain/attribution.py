"""Attribution methods for GAN targets: saliency, gradient x input, SmoothGrad, integrated
gradients, Grad-CAM, and the discriminator's own patch map.

Every method explains the *score* of a target (`explain.targets`): a differentiable
`target(images) -> (batch,)`. They are correct where tf-explain 0.3.1 is not under Keras 3
(DESIGN.md §3): SmoothGrad averages gradients of the score (not of a cross-entropy, which is
zero on a single-logit D); integrated gradients multiplies by (x - baseline), so attributions sum
to target(x) - target(baseline); Grad-CAM captures the layer's output with a hook on its `call`
(so subclassed, nested D(G(x)) and two-input conditional discriminators work), applies the ReLU
and resizes to the input.

The per-channel functions (`saliency`, `gradient_x_input`, `smoothgrad`,
`integrated_gradients`) return NumPy arrays shaped like the images, (batch, H, W, C).
`explain(method, target, images)` returns one map per image, (batch, H, W), reducing channels as:
  - additive methods (`integrated_gradients`, `gradient_x_input`): signed sum over channels, so
    a map still sums to the image's total attribution;
  - gradient magnitudes (`saliency`, `smoothgrad`): max over channels of |gradient|
    (Simonyan et al., 2014);
  - `grad_cam`, `patch_map`: one channel already.
Gradients are computed in a `tf.function` per target (cached on it), in chunks of rows.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain.targets import (
    LayerCapture,
    _all_layers,
    _discriminate,
    _first_output,
    _style_index,
    as_target,
    build_target,
    condition_for,
    find_layer,
    is_conditional,
    repeat_condition,
    slice_condition,
    unwrap_models,
)
from keras_styletransfer.validation import check_positive_int

METHODS = {
    "saliency": "|d score / d pixel|, max over channels",
    "gradient_x_input": "gradient times input, summed over channels",
    "smoothgrad": "gradient of the score averaged over noisy copies, |.|, max over channels",
    "integrated_gradients": "path integral of gradients from a baseline times (x - baseline); "
    "sums to score(x) - score(baseline)",
    "grad_cam": "ReLU(sum_c mean(d score / d A_c) A_c) of a spatial layer, resized to the image",
    "patch_map": "the discriminator's own patch logits, resized to the image",
}

CHUNK_ROWS = 64


def _tf():
    import tensorflow as tf

    return tf


def _as_images(images):
    tf = _tf()
    images = tf.convert_to_tensor(images, tf.float32)
    if len(images.shape) != 4:
        raise InputError(f"images must be (batch, H, W, channels); received {images.shape}.")
    return images


def _condition_for(target, batch, repeats=1):
    condition = target.condition
    if not condition:
        return {}
    count = next(iter(condition.values())).shape[0]
    if count != batch:
        raise InputError(
            f"target {target.name!r} holds per-image data for {count} images; received {batch}."
        )
    return repeat_condition(condition, repeats) if repeats > 1 else dict(condition)


def _compiled(target, key, builder):
    cache = target.__dict__.setdefault("_compiled_functions", {})
    if key not in cache:
        cache[key] = builder()
    return cache[key]


def _gradient_function(target):
    tf = _tf()

    def build():
        @tf.function(reduce_retracing=True)
        def scores_and_gradients(rows, condition):
            with tf.GradientTape() as tape:
                tape.watch(rows)
                scores = target.score(rows, condition)
            return scores, tape.gradient(scores, rows)

        return scores_and_gradients

    return _compiled(target, "gradients", build)


def score_and_gradients(target, rows, condition=None, chunk_rows=CHUNK_ROWS):
    """Scores and input gradients of `target` on `rows`, in chunks, compiled.

    Args:
        target: Target.
        rows: tensor (N, H, W, C).
        condition: dict of tensors aligned with `rows`. Defaults to the target's own.
        chunk_rows: int. Rows per compiled call. Defaults to 64.

    Returns:
        (np.ndarray (N,), np.ndarray (N, H, W, C)).
    """
    tf = _tf()
    rows = tf.convert_to_tensor(rows, tf.float32)
    if condition is None:
        condition = _condition_for(target, rows.shape[0])
    function = _gradient_function(target)
    scores, gradients = [], []
    for start in range(0, rows.shape[0], chunk_rows):
        stop = start + chunk_rows
        chunk_scores, chunk_gradients = function(
            rows[start:stop], slice_condition(condition, start, stop)
        )
        if chunk_gradients is None:
            raise InputError(f"target {target.name!r} does not depend on the images.")
        scores.append(chunk_scores.numpy())
        gradients.append(chunk_gradients.numpy())
    return np.concatenate(scores), np.concatenate(gradients)


def saliency(target, images):
    """Vanilla gradients d score / d image (Simonyan et al., 2014).

    Args:
        target: Target, or a keras.Model (explained as the mean of its output).
        images: array (batch, H, W, C).

    Returns:
        np.ndarray (batch, H, W, C): signed gradients.
    """
    target = as_target(target)
    images = _as_images(images)
    return score_and_gradients(target, images)[1]


def gradient_x_input(target, images):
    """Gradient times input (Shrikumar et al., 2016).

    Args:
        target: Target or keras.Model.
        images: array (batch, H, W, C).

    Returns:
        np.ndarray (batch, H, W, C).
    """
    target = as_target(target)
    images = _as_images(images)
    return score_and_gradients(target, images)[1] * images.numpy()


def smoothgrad(target, images, num_samples=20, noise=0.15, seed=0):
    """SmoothGrad: gradients of the score averaged over noisy copies (Smilkov et al., 2017).

    The noise standard deviation is `noise` times each image's value range (max - min), as in
    the paper. Noisy copies are laid out like tf-explain's `generate_noisy_images` (each image
    repeated `num_samples` times consecutively), drawn from a seeded generator.

    Args:
        target: Target or keras.Model.
        images: array (batch, H, W, C).
        num_samples: int. Noisy copies per image. Defaults to 20.
        noise: float. Noise level relative to the value range. Defaults to 0.15.
        seed: int. Defaults to 0.

    Returns:
        np.ndarray (batch, H, W, C): averaged signed gradients.
    """
    num_samples = check_positive_int(num_samples, "num_samples")
    target = as_target(target)
    images = _as_images(images).numpy()
    batch = images.shape[0]
    spread = images.reshape(batch, -1).max(axis=1) - images.reshape(batch, -1).min(axis=1)
    spread = np.where(spread > 0, spread, 1.0).reshape(batch, 1, 1, 1)
    rows = np.repeat(images, num_samples, axis=0)
    generator = np.random.default_rng(seed)
    rows = rows + generator.normal(0.0, 1.0, rows.shape).astype(np.float32) * noise * np.repeat(
        spread, num_samples, axis=0
    ).astype(np.float32)
    condition = _condition_for(target, batch, num_samples)
    _, gradients = score_and_gradients(target, rows, condition)
    return gradients.reshape(batch, num_samples, *images.shape[1:]).mean(axis=1)


def integrated_gradients(
    target, images, baseline=None, steps=32, return_completeness=False, chunk_rows=CHUNK_ROWS
):
    """Integrated gradients (Sundararajan et al., 2017), trapezoid rule, all steps batched.

    attribution_i = (x_i - baseline_i) * integral_0^1 d score(baseline + a (x - baseline)) / dx_i
    da, so the attributions of an image sum to score(x) - score(baseline) (completeness).

    Args:
        target: Target or keras.Model.
        images: array (batch, H, W, C).
        baseline: array broadcastable to `images`, or None for zeros (mid-grey in [-1, 1]).
            Defaults to None.
        steps: int. Intervals of the trapezoid rule (steps + 1 gradient evaluations).
            Defaults to 32.
        return_completeness: bool. Also return the completeness check. Defaults to False.
        chunk_rows: int. Rows per compiled call. Defaults to 64.

    Returns:
        np.ndarray (batch, H, W, C); with `return_completeness`, a tuple (attributions, dict)
        whose dict holds per-image arrays "attribution_sum", "score", "baseline_score",
        "difference" (score - baseline_score), "absolute_error" and "relative_error"
        (|sum - difference| / max(|difference|, 1e-8)).
    """
    steps = check_positive_int(steps, "steps")
    target = as_target(target)
    images = _as_images(images).numpy()
    batch = images.shape[0]
    if baseline is None:
        baseline = np.zeros_like(images)
    baseline = np.broadcast_to(np.asarray(baseline, np.float32), images.shape)
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] *= 0.5
    difference = images - baseline
    # Row layout: image i's steps + 1 path points are rows i * (steps + 1) ... consecutively.
    rows = baseline[:, None] + alphas[None, :, None, None, None] * difference[:, None]
    rows = rows.reshape(-1, *images.shape[1:])
    condition = _condition_for(target, batch, steps + 1)
    scores, gradients = score_and_gradients(target, rows, condition, chunk_rows)
    gradients = gradients.reshape(batch, steps + 1, *images.shape[1:])
    average = np.tensordot(weights, gradients, axes=([0], [1]))
    attributions = (difference * average).astype(np.float32)
    if not return_completeness:
        return attributions
    scores = scores.reshape(batch, steps + 1)
    total = attributions.reshape(batch, -1).sum(axis=1)
    delta = scores[:, -1] - scores[:, 0]
    error = np.abs(total - delta)
    return attributions, {
        "attribution_sum": total,
        "score": scores[:, -1],
        "baseline_score": scores[:, 0],
        "difference": delta,
        "absolute_error": error,
        "relative_error": error / np.maximum(np.abs(delta), 1e-8),
    }


def spatial_layers(networks):
    """Names ("network/layer") of the layers with a 4-D (spatial) output in `networks`."""
    names = []
    for network in networks:
        for layer in _all_layers(network):
            try:
                shape = layer.output.shape
            except (AttributeError, ValueError):
                continue
            if len(shape) == 4:
                names.append(f"{network.name}/{layer.name}")
    return names


def _check_spatial(target, layer):
    try:
        rank = len(layer.output.shape)
    except (AttributeError, ValueError):
        rank = None
    if rank != 4:
        raise InputError(
            f"Layer {layer.name!r} has no spatial output (rank {rank}); Grad-CAM needs a "
            "(batch, h, w, channels) layer. Valid layers: "
            + ", ".join(spatial_layers(target.networks))
        )


def _grad_cam_function(target, layer, guided):
    tf = _tf()

    def build():
        @tf.function(reduce_retracing=True)
        def features_and_gradients(rows, condition):
            with LayerCapture(layer) as capture, tf.GradientTape() as tape:
                tape.watch(rows)
                scores = target.score(rows, condition)
            features = capture.output
            gradients = tape.gradient(scores, features)
            if guided:
                gradients = (
                    tf.cast(features > 0, tf.float32) * tf.cast(gradients > 0, tf.float32)
                ) * gradients
            return features, gradients

        return features_and_gradients

    return _compiled(target, ("grad_cam", id(layer), bool(guided)), build)


def grad_cam(
    model_or_target,
    images,
    layer_name,
    relu=True,
    resize=True,
    guided=False,
    return_raw=False,
    **target_arguments,
):
    """Grad-CAM (Selvaraju et al., 2017) of a target's score at a spatial layer.

    The layer's output A is captured on the gradient tape by wrapping the layer's `call`, so the
    layer may sit in a subclassed model, a nested D(G(x)) or a two-input conditional D. The map
    is ReLU(sum_c w_c A_c) with w_c the spatial mean of d score / d A_c, resized (bilinear) to
    the input. With `relu=False, resize=False, guided=True` it equals tf-explain's
    `GradCAM.get_gradients_and_filters` + `generate_ponderated_output` (tested).

    Args:
        model_or_target: Target, a keras.Model (explained as its mean output; a conditional D
            needs `source=`), or a wrapper (its discriminator's realness).
        images: array (batch, H, W, C).
        layer_name: str. Layer name, or "network/layer" where several networks share names
            (the discriminator is searched first).
        relu: bool. Defaults to True.
        resize: bool. Resize to the input's H x W. Defaults to True.
        guided: bool. tf-explain's guided gradients (positive features and gradients).
            Defaults to False.
        return_raw: bool. Also return (features, gradients) NumPy arrays. Defaults to False.
        **target_arguments: passed to `build_target` when a model is given (e.g. `source`).

    Returns:
        np.ndarray (batch, H, W) (or (batch, h, w) without resizing).

    Raises:
        InputError: unknown layer, or a layer without spatial output (lists valid layers).
    """
    tf = _tf()
    target = as_target(model_or_target, **target_arguments)
    images = _as_images(images)
    _, layer = find_layer(target.networks, layer_name)
    _check_spatial(target, layer)
    function = _grad_cam_function(target, layer, guided)
    condition = _condition_for(target, images.shape[0])
    features, gradients = [], []
    for start in range(0, images.shape[0], CHUNK_ROWS):
        stop = start + CHUNK_ROWS
        chunk_features, chunk_gradients = function(
            images[start:stop], slice_condition(condition, start, stop)
        )
        features.append(chunk_features)
        gradients.append(chunk_gradients)
    features = tf.concat(features, 0)
    gradients = tf.concat(gradients, 0)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
    cams = tf.reduce_sum(weights * features, axis=-1)
    if relu:
        cams = tf.nn.relu(cams)
    if resize:
        cams = tf.image.resize(cams[..., None], images.shape[1:3], method="bilinear")[..., 0]
    cams = cams.numpy()
    if return_raw:
        return cams, (features.numpy(), gradients.numpy())
    return cams


def patch_map(model_or_target, images, source=None, resize=True):
    """The discriminator's own patch logits as a map: what D itself says, patch by patch.

    Args:
        model_or_target: a discriminator, a wrapper, or a target holding one (realness).
        images: array (batch, H, W, C).
        source: array. Condition images of a conditional D. Defaults to the target's.
        resize: bool. Nearest-neighbour resize to the image size. Defaults to True.

    Returns:
        np.ndarray (batch, H, W): logits (a (batch, 1) output becomes a constant map).
    """
    tf = _tf()
    images = _as_images(images)
    discriminator = getattr(model_or_target, "discriminator", None)
    condition = getattr(model_or_target, "condition", None) or {}
    if discriminator is None:
        discriminator = unwrap_models(discriminator=model_or_target)["discriminator"]
    if discriminator is None:
        raise InputError("patch_map needs a discriminator (or a target / wrapper holding one).")
    if source is not None:
        condition = {"source": tf.convert_to_tensor(source, tf.float32)}
    if is_conditional(discriminator) and "source" not in condition:
        raise InputError(f"{discriminator.name!r} is conditional: patch_map needs source=...")
    logits = tf.cast(_first_output(_discriminate(discriminator, images, condition)), tf.float32)
    if len(logits.shape) == 2:
        logits = tf.reduce_mean(logits, axis=-1)[:, None, None, None] * tf.ones_like(
            images[..., :1]
        )
    if resize:
        logits = tf.image.resize(logits[..., :1], images.shape[1:3], method="nearest")
    return logits[..., 0].numpy()


def reduce_channels(attributions, how):
    """One map per image from (batch, H, W, C) attributions.

    Args:
        attributions: array (batch, H, W, C).
        how: str. "sum" (signed sum), "max_abs" (max of |.|) or "sum_abs".

    Returns:
        np.ndarray (batch, H, W).
    """
    attributions = np.asarray(attributions)
    if how == "sum":
        return attributions.sum(axis=-1)
    if how == "max_abs":
        return np.abs(attributions).max(axis=-1)
    if how == "sum_abs":
        return np.abs(attributions).sum(axis=-1)
    raise InputError(f"Unknown channel reduction {how!r}. Valid: sum, max_abs, sum_abs.")


_REDUCTIONS = {
    "saliency": "max_abs",
    "gradient_x_input": "sum",
    "smoothgrad": "max_abs",
    "integrated_gradients": "sum",
}


def explain(method, target, images, **arguments):
    """One attribution map per image by method name (see `METHODS`).

    Args:
        method: str. One of `METHODS`.
        target: Target, keras.Model or wrapper.
        images: array (batch, H, W, C).
        **arguments: passed to the method (e.g. `steps`, `baseline`, `layer_name`,
            `num_samples`).

    Returns:
        np.ndarray (batch, H, W); see the module docstring for the channel reduction.
    """
    if method not in METHODS:
        raise InputError(f"Unknown method {method!r}. Valid methods: {', '.join(METHODS)}.")
    if method == "grad_cam":
        if arguments.get("layer_name") is None:
            networks = as_target(target).networks
            raise InputError(
                "grad_cam needs layer_name (--layer). Valid layers: "
                + ", ".join(spatial_layers(networks))
            )
        return grad_cam(target, images, **arguments)
    if method == "patch_map":
        return patch_map(target, images, **arguments)
    functions = {
        "saliency": saliency,
        "gradient_x_input": gradient_x_input,
        "smoothgrad": smoothgrad,
        "integrated_gradients": integrated_gradients,
    }
    arguments.pop("return_completeness", None)
    return reduce_channels(functions[method](target, images, **arguments), _REDUCTIONS[method])


@dataclasses.dataclass
class EditExplanation:
    """Integrated gradients along the edit x -> G(x) under D.

    Attributes:
        attributions: np.ndarray (batch, H, W). Signed, summed over channels; each map sums to
            D(G(x)) - D(x) up to `absolute_error`.
        per_channel: np.ndarray (batch, H, W, C).
        generated: np.ndarray (batch, H, W, C). G(x).
        realness_generated: np.ndarray (batch,). D(G(x)).
        realness_content: np.ndarray (batch,). D(x).
        absolute_error: np.ndarray (batch,). |sum of attributions - (D(G(x)) - D(x))|.
        relative_error: np.ndarray (batch,).
    """

    attributions: np.ndarray
    per_channel: np.ndarray
    generated: np.ndarray
    realness_generated: np.ndarray
    realness_content: np.ndarray
    absolute_error: np.ndarray
    relative_error: np.ndarray


def generate(generator, images, style=None, style_names=None):
    """G(x) (or G(z) for noise) in inference mode; a style generator renders style `style`."""
    tf = _tf()
    from keras_styletransfer.explain.targets import _Generating, _style_index

    images = tf.convert_to_tensor(images, tf.float32)
    index = _style_index(style, style_names, "the generator")
    return tf.cast(_Generating()._generate(generator, images, index), tf.float32).numpy()


def explain_edit(generator, discriminator=None, images=None, steps=32, style=None):
    """Which pixels of the edit made D call G(x) real: integrated gradients from the content
    image x (baseline) to G(x), scoring D's realness (a conditional D judges [x, .]).

    The attributions of an image sum to D(G(x)) - D(x): the change of D's verdict that the
    generator's edit caused, distributed over the pixels it changed.

    Args:
        generator: keras.Model or a wrapper (its generator and discriminator are used).
        discriminator: keras.Model. Defaults to the wrapper's.
        images: array (batch, H, W, C). Content images x in [-1, 1].
        steps: int. Integration steps. Defaults to 32.
        style: str or int. Style of a style generator. Defaults to the first.

    Returns:
        EditExplanation.
    """
    if images is None:
        raise InputError("explain_edit needs images (the content images x).")
    found = unwrap_models(generator=generator, discriminator=discriminator)
    if found["generator"] is None or found["discriminator"] is None:
        raise InputError("explain_edit needs a generator and a discriminator (or a wrapper).")
    images = _as_images(images).numpy()
    generated = generate(found["generator"], images, style, found["style_names"])
    index = _style_index(style, found["style_names"], "the model")
    source = condition_for(found, images, index)
    target = build_target(
        "realness", discriminator=found["discriminator"], source=source, style=index
    )
    per_channel, check = integrated_gradients(
        target, generated, baseline=images, steps=steps, return_completeness=True
    )
    return EditExplanation(
        attributions=per_channel.sum(axis=-1),
        per_channel=per_channel,
        generated=generated,
        realness_generated=check["score"],
        realness_content=check["baseline_score"],
        absolute_error=check["absolute_error"],
        relative_error=check["relative_error"],
    )
