"""Seeing inside training: gradient flow, gradient distributions, gradient heatmaps, warnings.

`GradientFlow` is a Keras callback for `GAN.fit`, `Pix2Pix.fit`, `CycleGAN.fit` and
`MultiStyleGAN.fit`. Every `every` steps it takes a *fixed* probe batch (chosen at train begin)
through the model's own `compute_losses` and differentiates, in one compiled `tf.function`:

- the generator loss `g_loss` with respect to every generator variable,
- the discriminator loss `d_loss` with respect to every discriminator variable,
- the generator's adversarial loss alone (no L1 / cycle terms) with respect to the generator
  variables, and with respect to D's logits on the fakes ("the signal D passes back to G").

From those it records per-layer gradient L2 norms, mean and max |gradient|, weight norms and the
measured update ratio ||W_{t+1} - W_t|| / ||W_t|| of the next optimizer step, in memory
(`records`, `checks`), in `gradient_flow.csv` / `gradient_flow.json`, and optionally as
TensorBoard scalars and histograms. Each epoch it draws the documents' "gradient flow" plot
(per-layer mean / max |gradient|, log scale), per-layer gradient distributions, per-pixel gradient
heatmaps |d loss / d image| on the probe and, for chosen layers, the gradient with respect to the
layer's activation. It warns (`VanishingGradientWarning`, `ExplodingGradientWarning`,
`DiscriminatorSaturationWarning`) and adds scalars and 0/1 flags to the epoch's `logs`, so
`History`, `EarlyStopping` and `ModelCheckpoint` placed after it can use them.

Paper symbols to code names: G is the generator, D the discriminator, L_G is `g_loss`, L_D is
`d_loss`, D(G(x)) is `fake_logits`; dL_G/dD(G(x)) is the "adversarial signal".
"""

from __future__ import annotations

import csv
import json
import math
import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_styletransfer.errors import InputError

FAMILIES = ("GAN", "Pix2Pix", "CycleGAN", "MultiStyleGAN")
NETWORKS = ("generator", "discriminator")

_CHECK_KEYS = (
    "g_loss",
    "d_loss",
    "grad_norm_generator",
    "grad_norm_discriminator",
    "grad_norm_generator_adversarial",
    "grad_ratio",
    "adversarial_signal",
    "d_fake_accuracy",
    "fake_logits_mean",
)
# What goes into the epoch's `logs` (the probe's own accuracy and logits stay in `checks`: the
# wrappers already log `d_fake_accuracy` and `fake_logits_mean` of the training batches).
_LOG_KEYS = (
    "grad_norm_generator",
    "grad_norm_discriminator",
    "grad_norm_generator_adversarial",
    "grad_ratio",
    "adversarial_signal",
)
_FLAG_KEYS = ("gradients_vanishing", "gradients_exploding", "discriminator_saturated")


# --- warnings ------------------------------------------------------------------------------------


class GradientWarning(UserWarning):
    """Base of the warnings `GradientFlow` gives about unhealthy gradients."""


class VanishingGradientWarning(GradientWarning):
    """A network's total gradient norm stayed below the threshold for `patience` checks."""


class ExplodingGradientWarning(GradientWarning):
    """A network's total gradient norm is above the threshold, or NaN / infinite."""


class DiscriminatorSaturationWarning(GradientWarning):
    """D rejects (nearly) every fake and the signal it passes back to G has collapsed."""


# --- the model family and its probe ---------------------------------------------------------------


def model_family(model):
    """The wrapper class name of an adversarial model: "GAN", "Pix2Pix", "CycleGAN", ...

    Raises:
        InputError: `model` is not one of the package's adversarial wrappers.
    """
    from keras_styletransfer.models.cyclegan import CycleGAN
    from keras_styletransfer.models.gan import GAN
    from keras_styletransfer.models.multistyle import MultiStyleGAN
    from keras_styletransfer.models.pix2pix import Pix2Pix

    for cls in (GAN, Pix2Pix, CycleGAN, MultiStyleGAN):
        if isinstance(model, cls):
            return cls.__name__
    raise InputError(
        f"Gradient monitoring needs one of the package's adversarial models {list(FAMILIES)}; "
        f"received {type(model).__name__}."
    )


def primary_networks(model):
    """(G, D) the heatmaps and layer slices use: for a CycleGAN, G: A -> B and D_B."""
    if model_family(model) == "CycleGAN":
        return model.generator_ab, model.discriminator_b
    return model.generator, model.discriminator


def _first_batch(data):
    if isinstance(data, tf.data.Dataset):
        for batch in data.take(1):
            return batch
        raise InputError("The probe dataset is empty; pass a dataset with at least one batch.")
    if hasattr(data, "__next__"):
        return next(data)
    return data


def make_probe(model, data, size=8, seed=0):
    """A fixed probe batch for `model`, as a dict of NumPy arrays.

    Args:
        model: GAN, Pix2Pix, CycleGAN or MultiStyleGAN.
        data: one batch shaped as `fit` receives it (GAN: images; Pix2Pix / CycleGAN:
            `(source, target)` / `(images_a, images_b)`; MultiStyleGAN: `(content, style_images,
            style_indices)`), or a `tf.data.Dataset` / iterator whose first batch is used.
        size: int. Examples kept (the first `size`). Defaults to 8.
        seed: int. Seed of a GAN's fixed noise. Defaults to 0.

    Returns:
        dict: GAN `{"real_images", "noise"}`, Pix2Pix `{"source_images", "target_images"}`,
        CycleGAN `{"images_a", "images_b"}`, MultiStyleGAN `{"content", "styled", "indices"}`.

    Raises:
        InputError: no data, or a batch that does not fit the model.
    """
    from keras_styletransfer.models import translation

    family = model_family(model)
    if data is None:
        raise InputError(
            "Gradient monitoring needs probe data: one batch like those `fit` receives, or the "
            "training dataset (its first batch is taken at train begin)."
        )
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InputError(f"`probe_size` must be an integer >= 1; received {size!r}.")
    batch = _first_batch(data)
    try:
        if family == "GAN":
            real, _, _ = keras.utils.unpack_x_y_sample_weight(batch)
            real = np.asarray(real, dtype=np.float32)[:size]
            noise = np.random.default_rng(seed).standard_normal((len(real), model.latent_dim))
            probe = {"real_images": real, "noise": noise.astype(np.float32)}
        elif family in ("Pix2Pix", "CycleGAN"):
            first, second = translation._unpack_pair(batch, family)
            count = min(size, int(first.shape[0]), int(second.shape[0]))
            names = (
                ("source_images", "target_images")
                if family == "Pix2Pix"
                else ("images_a", "images_b")
            )
            probe = {
                names[0]: np.asarray(first, dtype=np.float32)[:count],
                names[1]: np.asarray(second, dtype=np.float32)[:count],
            }
        else:
            content, styled, indices = translation._unpack_styled(batch)
            count = min(size, int(content.shape[0]))
            probe = {
                "content": np.asarray(content, dtype=np.float32)[:count],
                "styled": np.asarray(styled, dtype=np.float32)[:count],
                "indices": np.asarray(indices, dtype=np.int32)[:count],
            }
    except InputError:
        raise
    except (ValueError, TypeError) as error:
        raise InputError(f"The probe batch does not fit a {family}: {error}") from None
    return probe


_PROBE_KEYS = {
    "GAN": {"real_images", "noise"},
    "Pix2Pix": {"source_images", "target_images"},
    "CycleGAN": {"images_a", "images_b"},
    "MultiStyleGAN": {"content", "styled", "indices"},
}


def _is_probe(model, value):
    return isinstance(value, dict) and set(value) == _PROBE_KEYS[model_family(model)]


def _tensors(probe):
    return {key: tf.convert_to_tensor(value) for key, value in probe.items()}


def model_losses(model, probe, training=False):
    """The model's own per-example loss terms on a probe (its `compute_losses`).

    Returns:
        dict of tensors, including `g_loss` and `d_loss` (per example).
    """
    family = model_family(model)
    if family == "GAN":
        return model.compute_losses(probe["real_images"], probe["noise"], training=training)
    if family == "Pix2Pix":
        return model.compute_losses(
            probe["source_images"], probe["target_images"], training=training
        )
    if family == "CycleGAN":
        terms, _ = model.compute_losses(probe["images_a"], probe["images_b"], training=training)
        return terms
    return model.compute_losses(
        probe["content"], probe["styled"], probe["indices"], training=training
    )


def fake_logits(model, probe, training=False):
    """D's logits on G's outputs for the probe, one tensor per (G, D) pair of the model."""
    family = model_family(model)
    if family == "GAN":
        fake = model.generator(probe["noise"], training=training)
        return [tf.cast(model.discriminator(fake, training=training), tf.float32)]
    if family == "Pix2Pix":
        source = probe["source_images"]
        fake = model.generator(source, training=training)
        return [model._discriminate(source, fake, training)]
    if family == "CycleGAN":
        fake_b = model.generator_ab(probe["images_a"], training=training)
        fake_a = model.generator_ba(probe["images_b"], training=training)
        return [
            model._logits(model.discriminator_b, fake_b, training),
            model._logits(model.discriminator_a, fake_a, training),
        ]
    fake = model.render(probe["content"], probe["indices"], 1.0, training=training)
    return [model._judge(fake, training)[0]]


def _per_example_mean(tensor):
    tensor = tf.cast(tensor, tf.float32)
    if tensor.shape.rank <= 1:
        return tf.reshape(tensor, [-1])
    return tf.reduce_mean(tf.reshape(tensor, [tf.shape(tensor)[0], -1]), axis=1)


def discriminator_verdict(model, probe, training=False):
    """D's mean logit per real probe image (the primary D: D_B for a CycleGAN, the adversarial
    head for a MultiStyleGAN), and the image it is differentiated against."""
    family = model_family(model)
    if family == "GAN":
        images = probe["real_images"]
        return images, _per_example_mean(model.discriminator(images, training=training))
    if family == "Pix2Pix":
        images = probe["target_images"]
        return images, _per_example_mean(
            model._discriminate(probe["source_images"], images, training)
        )
    if family == "CycleGAN":
        images = probe["images_b"]
        return images, _per_example_mean(model.discriminator_b(images, training=training))
    images = probe["styled"]
    return images, _per_example_mean(model._judge(images, training)[0])


def generator_network_inputs(model, probe):
    """What the primary generator is called with on the probe."""
    family = model_family(model)
    if family == "GAN":
        return probe["noise"]
    if family == "Pix2Pix":
        return probe["source_images"]
    if family == "CycleGAN":
        return probe["images_a"]
    indices = np.asarray(probe["indices"])
    return {
        "image": probe["content"],
        "style": np.eye(len(model.domain_names), dtype=np.float32)[indices],
        "strength": np.ones((len(indices), 1), np.float32),
    }


def discriminator_network_inputs(model, probe):
    """What the primary discriminator is called with for the probe's real images."""
    family = model_family(model)
    if family == "GAN":
        return probe["real_images"]
    if family == "Pix2Pix":
        return [probe["source_images"], probe["target_images"]]
    if family == "CycleGAN":
        return probe["images_b"]
    return probe["styled"]


# --- variables grouped by layer -------------------------------------------------------------------


def _variable_layers(network):
    """(variable, layer key) for each trainable variable of one network, in order."""
    rows = []
    for variable in network.trainable_variables:
        layer = variable.path.rsplit("/", 1)[0] if "/" in variable.path else variable.path
        rows.append((variable, f"{network.name}/{layer}"))
    return rows


class _Layout:
    """Every trainable variable of G and D, with the layer each belongs to."""

    def __init__(self, model):
        self.variables = {}
        self.layers = {}
        for role, networks in (
            ("generator", model.generator_networks()),
            ("discriminator", model.discriminator_networks()),
        ):
            rows = [row for network in networks for row in _variable_layers(network)]
            self.variables[role] = [variable for variable, _ in rows]
            self.layers[role] = [layer for _, layer in rows]

    def layer_names(self, role):
        return list(dict.fromkeys(self.layers[role]))


def _statistics(gradients):
    """Per-variable L2 norm, sum |g|, max |g| of a list of gradients (compiled code)."""
    norms, sums, maxima = [], [], []
    for gradient in gradients:
        gradient = tf.cast(gradient, tf.float32)
        norms.append(tf.norm(tf.reshape(gradient, [-1])))
        sums.append(tf.reduce_sum(tf.abs(gradient)))
        maxima.append(tf.reduce_max(tf.abs(gradient)))
    return tf.stack(norms), tf.stack(sums), tf.stack(maxima)


def _state_variables(model):
    """Non-trainable statistics and random states that a training-mode forward pass changes."""
    seen, variables = set(), []
    networks = [*model.generator_networks(), *model.discriminator_networks()]
    candidates = [v for network in networks for v in network.non_trainable_variables]
    candidates += list(model._seed_states())
    for variable in candidates:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return variables


def build_gradient_function(model, training=False):
    """Compile, once, the gradients GradientFlow records; see `gradient_statistics`.

    Args:
        model: GAN, Pix2Pix, CycleGAN or MultiStyleGAN.
        training: bool. Run the networks in training mode (dropout, batch statistics); the
            statistics and random states are restored afterwards. Defaults to False.

    Returns:
        `(function, layout)`: `function(probe_tensors)` returns a dict of tensors.
    """
    model_family(model)
    layout = _Layout(model)
    generator_variables = layout.variables["generator"]
    discriminator_variables = layout.variables["discriminator"]
    state = _state_variables(model) if training else []
    zero = tf.UnconnectedGradients.ZERO

    @tf.function(reduce_retracing=True)
    def compute(probe):
        saved = [tf.identity(variable) for variable in state]
        with tf.GradientTape(persistent=True) as tape:
            terms = model_losses(model, probe, training)
            logits = fake_logits(model, probe, training)
            adversarial = tf.add_n([model.adversarial_loss.generator(lg) for lg in logits])
            g_loss = tf.reduce_mean(terms["g_loss"])
            d_loss = tf.reduce_mean(terms["d_loss"])
            adversarial_loss = tf.reduce_mean(adversarial)
            adversarial_sum = tf.reduce_sum(adversarial)
        g_gradients = tape.gradient(g_loss, generator_variables, unconnected_gradients=zero)
        d_gradients = tape.gradient(d_loss, discriminator_variables, unconnected_gradients=zero)
        a_gradients = tape.gradient(
            adversarial_loss, generator_variables, unconnected_gradients=zero
        )
        logit_gradients = tape.gradient(adversarial_sum, logits, unconnected_gradients=zero)
        del tape
        # Mean over examples of sum_patches |dL_G,i / d logit|: the average |f'(logit)| of G's
        # adversarial loss f; near 0 means D's verdict no longer tells G anything.
        signal = tf.add_n(
            [
                tf.reduce_mean(tf.reduce_sum(tf.reshape(tf.abs(g), [tf.shape(g)[0], -1]), axis=1))
                for g in logit_gradients
            ]
        ) / len(logit_gradients)
        threshold = model.adversarial_loss.decision_threshold
        per_example = tf.concat([_per_example_mean(lg) for lg in logits], axis=0)
        result = {
            "g_loss": g_loss,
            "d_loss": d_loss,
            "adversarial_signal": signal,
            "d_fake_accuracy": tf.reduce_mean(tf.cast(per_example <= threshold, tf.float32)),
            "fake_logits_mean": tf.reduce_mean(per_example),
            "generator_gradients": g_gradients,
            "discriminator_gradients": d_gradients,
        }
        for role, gradients in (
            ("generator", g_gradients),
            ("discriminator", d_gradients),
            ("generator_adversarial", a_gradients),
        ):
            norms, sums, maxima = _statistics(gradients)
            result[f"{role}_norms"] = norms
            result[f"{role}_sums"] = sums
            result[f"{role}_maxima"] = maxima
        for role, variables in (
            ("generator", generator_variables),
            ("discriminator", discriminator_variables),
        ):
            result[f"{role}_weight_norms"] = tf.stack(
                [tf.norm(tf.reshape(tf.cast(v, tf.float32), [-1])) for v in variables]
            )
        for variable, value in zip(state, saved, strict=True):
            variable.assign(value)
        return result

    return compute, layout


def _combine(values):
    return math.sqrt(float(np.sum(np.square(np.asarray(values, dtype=np.float64)))))


def summarize(raw, layout):
    """Turn the compiled function's output into per-network totals and per-layer rows.

    Returns:
        `(totals, layer_rows)`: totals is a dict of floats (`g_loss`, `d_loss`,
        `grad_norm_generator`, `grad_norm_discriminator`, `grad_norm_generator_adversarial`,
        `grad_ratio`, `adversarial_signal`, `d_fake_accuracy`, `fake_logits_mean`); each layer
        row has `network`, `layer`, `parameters`, `grad_norm`, `grad_mean_abs`, `grad_max_abs`,
        `weight_norm`, `adversarial_grad_norm` (generator layers only).
    """
    totals = {key: float(raw[key]) for key in _CHECK_KEYS if key in raw}
    rows = []
    for role in NETWORKS:
        variables = layout.variables[role]
        keys = layout.layers[role]
        norms = np.asarray(raw[f"{role}_norms"], dtype=np.float64)
        sums = np.asarray(raw[f"{role}_sums"], dtype=np.float64)
        maxima = np.asarray(raw[f"{role}_maxima"], dtype=np.float64)
        weights = np.asarray(raw[f"{role}_weight_norms"], dtype=np.float64)
        adversarial = (
            np.asarray(raw["generator_adversarial_norms"], dtype=np.float64)
            if role == "generator"
            else None
        )
        totals[f"grad_norm_{role}"] = _combine(norms)
        for layer in layout.layer_names(role):
            index = [i for i, key in enumerate(keys) if key == layer]
            count = sum(int(np.prod(variables[i].shape)) for i in index)
            row = {
                "network": role,
                "layer": layer,
                "parameters": count,
                "grad_norm": _combine(norms[index]),
                "grad_mean_abs": float(np.sum(sums[index]) / max(count, 1)),
                "grad_max_abs": float(np.max(maxima[index])),
                "weight_norm": _combine(weights[index]),
            }
            if adversarial is not None:
                row["adversarial_grad_norm"] = _combine(adversarial[index])
            rows.append(row)
    totals["grad_norm_generator_adversarial"] = _combine(raw["generator_adversarial_norms"])
    discriminator_norm = totals["grad_norm_discriminator"]
    totals["grad_ratio"] = (
        totals["grad_norm_generator"] / discriminator_norm if discriminator_norm > 0 else math.inf
    )
    return totals, rows


def gradient_statistics(model, probe, training=False):
    """Per-layer gradient norms of G's and D's losses on one probe (eager convenience).

    Args:
        model: GAN, Pix2Pix, CycleGAN or MultiStyleGAN.
        probe: dict from `make_probe`, or a batch / dataset `make_probe` accepts.
        training: bool. Run the networks in training mode. Defaults to False.

    Returns:
        `(totals, layer_rows)` as `summarize` describes.

    Example:
        >>> totals, rows = gradient_statistics(gan, make_probe(gan, images))
        >>> totals["grad_norm_generator"], rows[0]["layer"]
    """
    if not _is_probe(model, probe):
        probe = make_probe(model, probe)
    function, layout = build_gradient_function(model, training=training)
    return summarize(function(_tensors(probe)), layout)


# --- per-pixel heatmaps and layer slices ---------------------------------------------------------


def _input_gradients(model, probe):
    """|d L_G / d image| and |d D / d image| per pixel (max over channels) on the probe."""
    family = model_family(model)
    with tf.GradientTape(persistent=True) as tape:
        if family == "GAN":
            # G's input is noise: differentiate G's loss with respect to G's image instead.
            generator_image = model.generator(probe["noise"], training=False)
            tape.watch(generator_image)
            logits = tf.cast(model.discriminator(generator_image, training=False), tf.float32)
            g_loss = tf.reduce_sum(model.adversarial_loss.generator(logits))
        else:
            key = {"Pix2Pix": "source_images", "CycleGAN": "images_a"}.get(family, "content")
            generator_image = probe[key]
            tape.watch(generator_image)
            probe = {**probe, key: generator_image}
            g_loss = tf.reduce_sum(model_losses(model, probe, training=False)["g_loss"])
        d_image = tf.identity(probe[_verdict_key(family)])
        tape.watch(d_image)
        _, verdict = discriminator_verdict(
            model, {**probe, _verdict_key(family): d_image}, training=False
        )
        verdict = tf.reduce_sum(verdict)
    g_map = tape.gradient(
        g_loss, generator_image, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    d_map = tape.gradient(verdict, d_image, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    del tape
    return {
        "generator_images": generator_image,
        "generator": tf.reduce_max(tf.abs(g_map), axis=-1),
        "discriminator_images": d_image,
        "discriminator": tf.reduce_max(tf.abs(d_map), axis=-1),
    }


def _verdict_key(family):
    return {
        "GAN": "real_images",
        "Pix2Pix": "target_images",
        "CycleGAN": "images_b",
        "MultiStyleGAN": "styled",
    }[family]


def input_gradient_maps(model, probe, function=None):
    """Per-pixel gradient heatmaps on a probe: where G's loss and D's verdict look.

    - `generator`: |d sum_i L_G,i / d x| of G's loss with respect to G's input image (Pix2Pix,
      CycleGAN: the source / domain-A image; MultiStyleGAN: the photo). A noise GAN has no input
      image, so its map is taken with respect to G's output image G(z).
    - `discriminator`: |d sum_i mean D(y_i) / d y| of D's mean logit on the real probe images
      (D_B for a CycleGAN; the adversarial head for a MultiStyleGAN; the target for a Pix2Pix).
    Both are maxima over channels. A pixel that cannot change the quantity gets exactly 0.

    Args:
        model: GAN, Pix2Pix, CycleGAN or MultiStyleGAN.
        probe: dict from `make_probe`.
        function: optional compiled version of the computation (the callback passes one).

    Returns:
        dict of NumPy arrays: `generator_images` (B, H, W, C), `generator` (B, H, W),
        `discriminator_images`, `discriminator`.
    """
    if not _is_probe(model, probe):
        probe = make_probe(model, probe)
    compute = function or _input_gradients
    maps = compute(model, _tensors(probe)) if function is None else compute(_tensors(probe))
    return {key: np.asarray(value) for key, value in maps.items()}


def _resolve_gradient_layers(model, layer_names):
    from keras_styletransfer.explain.targets import find_layer

    if layer_names is None:
        return {}
    if not isinstance(layer_names, dict) or not set(layer_names) <= set(NETWORKS):
        raise InputError(
            "`layer_names` must be a dict {'generator': [names], 'discriminator': [names]}; "
            f"received {layer_names!r}."
        )
    generator, discriminator = primary_networks(model)
    resolved = {}
    for role, names in layer_names.items():
        network = generator if role == "generator" else discriminator
        if isinstance(names, str):
            names = [names]
        resolved[role] = [find_layer([network], name)[1] for name in names]
    return resolved


def _layer_gradients(model, probe, layers):
    from keras_styletransfer.explain.targets import LayerCapture

    captures = {
        role: [LayerCapture(layer) for layer in role_layers] for role, role_layers in layers.items()
    }
    every = [capture for role_captures in captures.values() for capture in role_captures]
    with tf.GradientTape(persistent=True) as tape:
        for capture in every:
            capture.__enter__()
        try:
            # D's verdict on the real images first, so D's layers' first call is on them.
            _, verdict = discriminator_verdict(model, probe, training=False)
            verdict = tf.reduce_sum(verdict)
            g_loss = tf.reduce_sum(model_losses(model, probe, training=False)["g_loss"])
        finally:
            for capture in every:
                capture.__exit__()
    result = {}
    for role, role_captures in captures.items():
        quantity = g_loss if role == "generator" else verdict
        for capture in role_captures:
            if not capture.outputs:
                raise InputError(f"Layer {capture.layer.name!r} is not used on the probe.")
            activation = capture.outputs[0]
            if isinstance(activation, list | tuple):
                activation = activation[0]
            gradient = tape.gradient(
                quantity, activation, unconnected_gradients=tf.UnconnectedGradients.ZERO
            )
            gradient = tf.cast(gradient, tf.float32)
            if gradient.shape.rank == 4:
                gradient = tf.reduce_mean(gradient, axis=-1)
            result[f"{role}/{capture.layer.name}"] = gradient
    del tape
    return result


def layer_gradient_maps(model, probe, layer_names, function=None):
    """Gradients with respect to chosen layers' activations on the probe ("slices").

    For a generator layer, d sum_i L_G,i / d activation; for a discriminator layer, d sum_i
    mean D(y_i) / d activation on the real probe images (as in `input_gradient_maps`). Feature
    maps are averaged over channels, giving one (H', W') map per probe example; dense layers
    give one value per unit.

    Args:
        model: GAN, Pix2Pix, CycleGAN or MultiStyleGAN.
        probe: dict from `make_probe`.
        layer_names: dict `{"generator": [names], "discriminator": [names]}` (primary networks,
            nested layers included).
        function: optional compiled version (the callback passes one).

    Returns:
        dict "generator/<layer>" or "discriminator/<layer>" -> NumPy array (B, H', W') or (B, U).

    Raises:
        InputError: unknown layer names (the message lists the valid ones).
    """
    layers = _resolve_gradient_layers(model, layer_names)
    if not _is_probe(model, probe):
        probe = make_probe(model, probe)
    if function is not None:
        maps = function(_tensors(probe))
    else:
        maps = _layer_gradients(model, _tensors(probe), layers)
    return {key: np.asarray(value) for key, value in maps.items()}


# --- figures --------------------------------------------------------------------------------------


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _short(layer):
    return layer.split("/", 1)[1] if "/" in layer else layer


def plot_gradient_flow(layer_rows, path, title=None, floor=1e-12):
    """The documents' `plot_grad_flow`: per-layer max and mean |gradient| of G and D, log scale.

    Layers whose gradient is exactly zero are marked with a red "x" on the floor.

    Args:
        layer_rows: list of dict from `summarize`.
        path: str. PNG file to write.
        title: str. Defaults to None.
        floor: float. Smallest value shown. Defaults to 1e-12.

    Returns:
        The path written.
    """
    plt = _pyplot()
    figure, axes = plt.subplots(2, 1, figsize=(max(6.0, 0.45 * len(layer_rows) + 2), 7.5))
    for axis, role in zip(axes, NETWORKS, strict=True):
        rows = [row for row in layer_rows if row["network"] == role]
        positions = np.arange(len(rows))
        # Exact zeros get no bar (a log axis cannot show them) but a red cross on the floor.
        maxima = np.array([row["grad_max_abs"] or np.nan for row in rows], dtype=float)
        means = np.array([row["grad_mean_abs"] or np.nan for row in rows], dtype=float)
        maxima, means = np.maximum(maxima, floor), np.maximum(means, floor)
        axis.bar(positions, maxima, color="c", alpha=0.6, label="max |grad|", width=0.8)
        axis.bar(positions, means, color="b", alpha=0.8, label="mean |grad|", width=0.5)
        zeros = [i for i, row in enumerate(rows) if row["grad_max_abs"] == 0]
        if zeros:
            axis.plot(zeros, [floor] * len(zeros), "rx", markersize=9, label="zero gradient")
        axis.set_yscale("log")
        if not np.any(np.isfinite(maxima)):
            axis.set_ylim(floor / 10, floor * 100)
        axis.set_xticks(positions)
        axis.set_xticklabels([_short(row["layer"]) for row in rows], rotation=60, ha="right")
        axis.set_xlim(-0.6, max(len(rows), 1) - 0.4)
        axis.set_ylabel("|gradient|")
        total = _combine([row["grad_norm"] for row in rows])
        axis.set_title(f"{role}: gradient flow (total L2 norm {total:.3g})", fontsize=10)
        axis.grid(axis="y", which="major", alpha=0.3)
        axis.legend(fontsize=8, loc="upper right")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def plot_gradient_distributions(gradients, path, title=None, low=-12, high=4, bins=32):
    """Per-layer distributions of log10 |gradient| for G and D as one PNG.

    Each row is a layer's histogram (normalised to its largest bin); exact zeros are counted in a
    separate leftmost column labelled "0".

    Args:
        gradients: dict role -> list of (layer name, NumPy array of that layer's gradients).
        path: str. PNG file.
        title: str. Defaults to None.
        low, high: int. log10 range of the bins. Defaults to -12 and 4.
        bins: int. Defaults to 32.

    Returns:
        The path written.
    """
    plt = _pyplot()
    edges = np.linspace(low, high, bins + 1)
    heights = [max(len(gradients.get(role, [])), 1) for role in NETWORKS]
    figure, axes = plt.subplots(
        2,
        1,
        figsize=(8, 1.2 + 0.28 * sum(heights) + 1.5),
        gridspec_kw={"height_ratios": heights},
    )
    for axis, role in zip(axes, NETWORKS, strict=True):
        layers = gradients.get(role, [])
        table = np.zeros((max(len(layers), 1), bins + 1))
        for row, (_, values) in enumerate(layers):
            values = np.abs(np.asarray(values, dtype=np.float64).ravel())
            values = values[np.isfinite(values)]
            zeros = np.count_nonzero(values == 0)
            counts, _ = np.histogram(np.clip(np.log10(values[values > 0]), low, high), edges)
            table[row] = np.concatenate([[zeros], counts])
            table[row] /= max(table[row].max(), 1)
        axis.imshow(table, aspect="auto", cmap="magma", interpolation="nearest")
        axis.set_yticks(range(len(layers)))
        axis.set_yticklabels([_short(name) for name, _ in layers], fontsize=7)
        ticks = list(range(0, bins + 1, max(bins // 8, 1)))
        axis.set_xticks([0, *[t + 1 for t in ticks if t > 0]])
        axis.set_xticklabels(["0", *[f"{edges[t]:.0f}" for t in ticks if t > 0]], fontsize=7)
        axis.axvline(0.5, color="w", linewidth=0.8)
        axis.set_xlabel("log10 |gradient| (first column: exact zeros)", fontsize=8)
        axis.set_title(f"{role}: gradient distribution per layer", fontsize=10)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def _display(images):
    images = np.clip((np.asarray(images, dtype=np.float32) + 1.0) / 2.0, 0.0, 1.0)
    if images.ndim == 4 and images.shape[-1] == 1:
        return images[..., 0], "gray"
    if images.ndim == 4 and images.shape[-1] != 3:
        return images[..., :3], None
    return images, None


def save_gradient_heatmaps(maps, path, max_examples=6, title=None):
    """Save `input_gradient_maps` as a PNG grid: per probe example, G's image and |dL_G/dx|,
    D's real image and |dD/dy| (each map scaled to its own maximum; the maximum is printed).

    Returns:
        The path written.
    """
    plt = _pyplot()
    count = min(len(maps["generator"]), max_examples)
    columns = [
        ("generator_images", "G input / image", "image"),
        ("generator", "|dL_G / d pixel|", "heat"),
        ("discriminator_images", "D real image", "image"),
        ("discriminator", "|dD / d pixel|", "heat"),
    ]
    figure, axes = plt.subplots(count, 4, figsize=(8, 2.1 * count + 0.4), squeeze=False)
    for row in range(count):
        for column, (key, label, kind) in enumerate(columns):
            axis = axes[row][column]
            if kind == "image":
                images, cmap = _display(maps[key])
                axis.imshow(images[row], cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            else:
                heat = maps[key][row]
                peak = float(heat.max())
                axis.imshow(heat, cmap="inferno", vmin=0, vmax=peak or 1, interpolation="nearest")
                label = f"{label}\nmax {peak:.2g}"
            axis.set_title(label if row == 0 or kind == "heat" else "", fontsize=7)
            axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def save_layer_gradient_maps(maps, path, max_examples=4, title=None):
    """Save `layer_gradient_maps` as a PNG grid: rows are probe examples, columns layers; signed
    channel-mean gradients on a diverging scale symmetric about 0 (blue < 0 < red).

    Returns:
        The path written.
    """
    plt = _pyplot()
    names = list(maps)
    count = min(min(len(value) for value in maps.values()), max_examples) if names else 0
    if not names or not count:
        raise InputError("No layer gradient maps to save; pass at least one layer name.")
    figure, axes = plt.subplots(
        count, len(names), figsize=(2.3 * len(names) + 0.4, 2.2 * count + 0.4), squeeze=False
    )
    for column, name in enumerate(names):
        values = np.asarray(maps[name])
        for row in range(count):
            value = values[row]
            if value.ndim == 1:
                value = value[np.newaxis, :]
            bound = float(np.abs(value).max()) or 1.0
            axis = axes[row][column]
            axis.imshow(value, cmap="coolwarm", vmin=-bound, vmax=bound, aspect="auto")
            axis.set_title(f"{name}\n|max| {bound:.2g}" if row == 0 else "", fontsize=7)
            axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


def plot_gradient_norms(checks, path, title=None):
    """Total gradient norms of G, D and G's adversarial part over training steps (log scale),
    with the steps where a warning was raised marked.

    Returns:
        The path written.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.6))
    steps = [check["step"] for check in checks]
    for key, style in (
        ("grad_norm_generator", "b-o"),
        ("grad_norm_generator_adversarial", "c--"),
        ("grad_norm_discriminator", "r-o"),
    ):
        values = [
            max(check[key], 1e-30) if math.isfinite(check[key]) else np.nan for check in checks
        ]
        axis.plot(steps, values, style, markersize=3, label=key.replace("grad_norm_", ""))
    for flag, color in zip(_FLAG_KEYS, ("gray", "orange", "purple"), strict=True):
        marked = [check["step"] for check in checks if check.get(flag)]
        for step in marked:
            axis.axvline(step, color=color, alpha=0.25)
        if marked:
            axis.plot([], [], color=color, label=flag)
    axis.set_yscale("log")
    axis.set_xlabel("training step")
    axis.set_ylabel("gradient L2 norm")
    axis.legend(fontsize=7)
    axis.set_title(title or "gradient norms on the fixed probe", fontsize=10)
    figure.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
    return path


# --- the callback ---------------------------------------------------------------------------------


def _finite(rows):
    """Rows with NaN / infinite numbers as None, so the JSON file is standard JSON."""
    return [
        {
            key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in row.items()
        }
        for row in rows
    ]


def _check_positive(value, name, integer=False):
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise InputError(f"`{name}` must be a number > 0; received {value!r}.")
    if integer and not isinstance(value, int):
        raise InputError(f"`{name}` must be an integer >= 1; received {value!r}.")
    return value


class GradientFlow(keras.callbacks.Callback):
    """Record and draw the gradients of G's and D's losses during `fit`, and warn when unhealthy.

    Every `every` training steps (and at train begin and every epoch end) one compiled function
    differentiates the model's own losses on a fixed probe batch (see the module docstring).
    Results:

    - `checks`: one dict per check (`step`, `epoch`, `g_loss`, `d_loss`, `grad_norm_generator`,
      `grad_norm_discriminator`, `grad_norm_generator_adversarial`, `grad_ratio` (G / D),
      `adversarial_signal`, `d_fake_accuracy`, `fake_logits_mean`, and the three flags).
    - `records`: one dict per check and layer (`grad_norm`, `grad_mean_abs`, `grad_max_abs`,
      `weight_norm`, `update_ratio` = ||W after the next step - W|| / ||W||, `parameters`).
    - Files in `output_dir`: `gradient_flow.csv` (the records), `gradient_flow.json` (checks
      and records), and per epoch `gradient_flow_epoch_NNN.png`,
      `gradient_histograms_epoch_NNN.png`, `gradient_heatmaps_epoch_NNN.png` (with
      `heatmaps=True`), `layer_gradients_epoch_NNN.png` (with `layer_names`); at train end
      `gradient_norms.png`.
    - `logs` at each epoch end (the epoch's last check): `grad_norm_generator`,
      `grad_norm_discriminator`, `grad_norm_generator_adversarial`, `grad_ratio`,
      `adversarial_signal`, and the flags
      `gradients_vanishing`, `gradients_exploding`, `discriminator_saturated` (1.0 when the
      condition held at any check of the epoch). Put this callback before `EarlyStopping` /
      `ModelCheckpoint` that monitor them.
    - With `log_dir`: TensorBoard scalars (totals and per-layer norms) and per-layer gradient
      histograms at every check, under `log_dir/gradients`.

    Warnings (`warnings.warn`, once per onset):
    - `VanishingGradientWarning`: a network's total gradient norm below `vanishing_threshold` for
      `patience` consecutive checks.
    - `ExplodingGradientWarning`: above `exploding_threshold`, or NaN / infinite.
    - `DiscriminatorSaturationWarning`: for `patience` consecutive checks D calls at least
      `saturation_accuracy` of the probe's fakes fake and the adversarial signal
      mean |dL_G / dD(G(x))| is below `starvation_threshold`, so G's adversarial gradient has
      collapsed (the minimax loss does this; the non-saturating loss exists to avoid it).

    Args:
        output_dir: str. Folder for the files. Defaults to None (memory and logs only).
        probe_data: a batch shaped as `fit` receives it, or a `tf.data.Dataset` (its first batch
            is taken at train begin). Required.
        probe_size: int. Probe examples. Defaults to 8.
        every: int. Steps between checks. Defaults to 10.
        training: bool. Run the networks in training mode on the probe (state restored).
            Defaults to False.
        heatmaps: bool. Save per-pixel gradient heatmaps each epoch. Defaults to True.
        layer_names: dict `{"generator": [...], "discriminator": [...]}` for layer slices.
            Defaults to None.
        plot_every: int. Epochs between figures. Defaults to 1.
        log_dir: str. TensorBoard folder. Defaults to None.
        vanishing_threshold: float. Defaults to 1e-6.
        exploding_threshold: float. Defaults to 1e3.
        patience: int. Consecutive checks for the vanishing and saturation warnings.
            Defaults to 3.
        saturation_accuracy: float. Defaults to 0.99.
        starvation_threshold: float. Defaults to 1e-3.
        seed: int. Seed of a GAN probe's noise. Defaults to 0.

    Example:
        >>> flow = GradientFlow("runs/gradients", probe_data=dataset, every=50)
        >>> gan.fit(dataset, epochs=5, callbacks=[flow, keras.callbacks.EarlyStopping(
        ...     monitor="grad_norm_generator", mode="max", patience=2)])

    References:
        The source documents' "gradient flow" (plot_grad_flow) and "gradient heatmaps and
        distributions"; Arjovsky & Bottou, "Towards Principled Methods for Training GANs", 2017
        (D saturation starves G under the minimax loss).
    """

    def __init__(
        self,
        output_dir=None,
        probe_data=None,
        probe_size=8,
        every=10,
        training=False,
        heatmaps=True,
        layer_names=None,
        plot_every=1,
        log_dir=None,
        vanishing_threshold=1e-6,
        exploding_threshold=1e3,
        patience=3,
        saturation_accuracy=0.99,
        starvation_threshold=1e-3,
        seed=0,
    ):
        super().__init__()
        self.output_dir = output_dir
        self.probe_data = probe_data
        self.probe_size = probe_size
        self.every = _check_positive(every, "every", integer=True)
        self.training = bool(training)
        self.heatmaps = bool(heatmaps)
        if layer_names is not None and not isinstance(layer_names, dict):
            raise InputError(
                "`layer_names` must be a dict {'generator': [names], 'discriminator': [names]}; "
                f"received {layer_names!r}."
            )
        self.layer_names = layer_names
        self.plot_every = _check_positive(plot_every, "plot_every", integer=True)
        self.log_dir = log_dir
        self.vanishing_threshold = _check_positive(vanishing_threshold, "vanishing_threshold")
        self.exploding_threshold = _check_positive(exploding_threshold, "exploding_threshold")
        self.patience = _check_positive(patience, "patience", integer=True)
        if not 0 < saturation_accuracy <= 1:
            raise InputError(
                f"`saturation_accuracy` must be in (0, 1]; received {saturation_accuracy!r}."
            )
        self.saturation_accuracy = float(saturation_accuracy)
        self.starvation_threshold = _check_positive(starvation_threshold, "starvation_threshold")
        self.seed = seed
        self.checks = []
        self.records = []
        self.written = []
        self.probe = None
        self._function = None
        self._layout = None
        self._writer = None

    # --- set-up ---------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        if self.probe is None:
            self.probe = make_probe(self.model, self.probe_data, self.probe_size, self.seed)
        self._probe_tensors = _tensors(self.probe)
        self._function, self._layout = build_gradient_function(self.model, self.training)
        self._heatmap_function = None
        self._layer_function = None
        if self.layer_names:
            layers = _resolve_gradient_layers(self.model, self.layer_names)
            model = self.model
            self._layer_function = tf.function(lambda probe: _layer_gradients(model, probe, layers))
        if self.heatmaps:
            model = self.model
            self._heatmap_function = tf.function(lambda probe: _input_gradients(model, probe))
        self._step = 0
        self._epoch = 0
        self._last_check_step = None
        self._pending_update = None
        self._epoch_flags = dict.fromkeys(_FLAG_KEYS, 0.0)
        self._counters = {"vanishing_generator": 0, "vanishing_discriminator": 0, "saturated": 0}
        self._active = set()
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "gradients"))
        self._check()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_flags = dict.fromkeys(_FLAG_KEYS, 0.0)

    # --- the checks -----------------------------------------------------------------------------

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._fill_update_ratio()
        if self._step % self.every == 0:
            self._check()

    def _fill_update_ratio(self):
        if self._pending_update is None:
            return
        records, snapshot = self._pending_update
        self._pending_update = None
        by_layer = {}
        variables = self._layout.variables["generator"] + self._layout.variables["discriminator"]
        keys = [("generator", k) for k in self._layout.layers["generator"]] + [
            ("discriminator", k) for k in self._layout.layers["discriminator"]
        ]
        for variable, old, key in zip(variables, snapshot, keys, strict=True):
            change = np.asarray(variable.numpy(), np.float64) - old
            by_layer.setdefault(key, []).append(float(np.sum(change * change)))
        for record in records:
            changed = math.sqrt(sum(by_layer[(record["network"], record["layer"])]))
            weight = record["weight_norm"]
            record["update_ratio"] = changed / weight if weight > 0 else math.inf

    def _check(self):
        raw = self._function(self._probe_tensors)
        totals, rows = summarize(raw, self._layout)
        check = {"step": self._step, "epoch": self._epoch + 1, **totals}
        check.update(self._warnings(totals))
        for flag in _FLAG_KEYS:
            self._epoch_flags[flag] = max(self._epoch_flags[flag], check[flag])
        for row in rows:
            row.update(step=self._step, epoch=self._epoch + 1, update_ratio=math.nan)
        self.checks.append(check)
        self.records.extend(rows)
        self._last_check_step = self._step
        self._last_raw = raw
        variables = self._layout.variables["generator"] + self._layout.variables["discriminator"]
        self._pending_update = (rows, [np.asarray(v.numpy(), np.float64) for v in variables])
        if self._writer is not None:
            self._summaries(check, rows, raw)

    def _warn(self, key, condition, category, message):
        if condition and key not in self._active:
            warnings.warn(message, category, stacklevel=2)
            self._active.add(key)
        elif not condition:
            self._active.discard(key)

    def _warnings(self, totals):
        flags = dict.fromkeys(_FLAG_KEYS, 0.0)
        step = self._step
        for role in NETWORKS:
            norm = totals[f"grad_norm_{role}"]
            counter = f"vanishing_{role}"
            small = math.isfinite(norm) and norm < self.vanishing_threshold
            self._counters[counter] = self._counters[counter] + 1 if small else 0
            vanishing = self._counters[counter] >= self.patience
            self._warn(
                counter,
                vanishing,
                VanishingGradientWarning,
                f"The {role}'s gradients vanish: total L2 norm {norm:.3g} < "
                f"{self.vanishing_threshold:g} for {self._counters[counter]} consecutive checks "
                f"(step {step}). Look for a dead layer (zero weights, saturated activations) "
                "in the gradient-flow plot.",
            )
            exploding = not math.isfinite(norm) or norm > self.exploding_threshold
            self._warn(
                f"exploding_{role}",
                exploding,
                ExplodingGradientWarning,
                f"The {role}'s gradients explode: total L2 norm {norm:.3g} "
                f"(threshold {self.exploding_threshold:g}) at step {step}. Lower the learning "
                "rate or the loss weights, or clip gradients.",
            )
            flags["gradients_vanishing"] = max(flags["gradients_vanishing"], float(vanishing))
            flags["gradients_exploding"] = max(flags["gradients_exploding"], float(exploding))
        saturated_now = (
            totals["d_fake_accuracy"] >= self.saturation_accuracy
            and totals["adversarial_signal"] < self.starvation_threshold
        )
        self._counters["saturated"] = self._counters["saturated"] + 1 if saturated_now else 0
        saturated = self._counters["saturated"] >= self.patience
        self._warn(
            "saturated",
            saturated,
            DiscriminatorSaturationWarning,
            f"D saturates and starves G: it calls {totals['d_fake_accuracy']:.0%} of the probe's "
            f"fakes fake (mean fake logit {totals['fake_logits_mean']:.3g}) and G's adversarial "
            f"signal |dL_G/dD(G(x))| is {totals['adversarial_signal']:.3g} (G's adversarial "
            f"gradient norm {totals['grad_norm_generator_adversarial']:.3g}) at step {step}. "
            "Use the non-saturating loss, weaken D or lower its learning rate.",
        )
        flags["discriminator_saturated"] = float(saturated)
        return flags

    def _summaries(self, check, rows, raw):
        with self._writer.as_default(step=check["step"]):
            for key in _CHECK_KEYS:
                if math.isfinite(check[key]):
                    tf.summary.scalar(f"gradients/{key}", check[key])
            for row in rows:
                tf.summary.scalar(
                    f"gradient_norm/{row['network']}/{row['layer']}", row["grad_norm"]
                )
            for role in NETWORKS:
                for layer, values in self._layer_gradients(raw, role):
                    tf.summary.histogram(f"gradient/{role}/{layer}", values)
        self._writer.flush()

    def _layer_gradients(self, raw, role):
        grouped = {}
        for gradient, layer in zip(
            raw[f"{role}_gradients"], self._layout.layers[role], strict=True
        ):
            grouped.setdefault(layer, []).append(np.asarray(gradient).ravel())
        return [(layer, np.concatenate(parts)) for layer, parts in grouped.items()]

    # --- per epoch ------------------------------------------------------------------------------

    def on_epoch_end(self, epoch, logs=None):
        if self._last_check_step != self._step:
            self._check()
        check = self.checks[-1]
        if logs is not None:
            for key in _LOG_KEYS:
                logs[key] = check[key]
            logs.update(self._epoch_flags)
        if self.output_dir:
            self._write_tables()
            if (epoch + 1) % self.plot_every == 0:
                self._figures(epoch + 1)

    def _figures(self, epoch):
        directory = self.output_dir
        rows = [r for r in self.records if r["step"] == self._last_check_step]
        title = f"epoch {epoch}, step {self._last_check_step}"
        self.written.append(
            plot_gradient_flow(
                rows, os.path.join(directory, f"gradient_flow_epoch_{epoch:03d}.png"), title
            )
        )
        distributions = {role: self._layer_gradients(self._last_raw, role) for role in NETWORKS}
        self.written.append(
            plot_gradient_distributions(
                distributions,
                os.path.join(directory, f"gradient_histograms_epoch_{epoch:03d}.png"),
                title,
            )
        )
        if self._heatmap_function is not None:
            maps = input_gradient_maps(self.model, self.probe, function=self._heatmap_function)
            self.written.append(
                save_gradient_heatmaps(
                    maps,
                    os.path.join(directory, f"gradient_heatmaps_epoch_{epoch:03d}.png"),
                    title=title,
                )
            )
        if self._layer_function is not None:
            maps = layer_gradient_maps(
                self.model, self.probe, self.layer_names, function=self._layer_function
            )
            self.written.append(
                save_layer_gradient_maps(
                    maps,
                    os.path.join(directory, f"layer_gradients_epoch_{epoch:03d}.png"),
                    title=title,
                )
            )

    def _write_tables(self):
        os.makedirs(self.output_dir, exist_ok=True)
        fields = [
            "step",
            "epoch",
            "network",
            "layer",
            "parameters",
            "grad_norm",
            "grad_mean_abs",
            "grad_max_abs",
            "weight_norm",
            "update_ratio",
            "adversarial_grad_norm",
        ]
        path = os.path.join(self.output_dir, "gradient_flow.csv")
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, restval="")
            writer.writeheader()
            writer.writerows(self.records)
        with open(os.path.join(self.output_dir, "gradient_flow.json"), "w") as handle:
            json.dump(
                {"checks": _finite(self.checks), "records": _finite(self.records)}, handle, indent=1
            )

    def on_train_end(self, logs=None):
        # The last check has no next step: its update ratios stay NaN (None in the JSON file).
        self._pending_update = None
        if self.output_dir:
            self._write_tables()
            if self.checks:
                self.written.append(
                    plot_gradient_norms(
                        self.checks, os.path.join(self.output_dir, "gradient_norms.png")
                    )
                )
        if self._writer is not None:
            self._writer.close()
            self._writer = None
