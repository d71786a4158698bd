"""Gradient flow, gradient distributions and gradient heatmaps of an adversarial model: the maths.

Only the wrappers' shared contract (`AdversarialModel`) is used: a *probe* is the fixed batch
`model.probe_batch(data, size, seed)` gives, and G's and D's losses are the model's own
`compute_losses(**probe)`. One compiled `tf.function` differentiates G's loss `g_loss` with
respect to every generator variable, D's loss `d_loss` with respect to every discriminator
variable, and G's adversarial loss alone (no L1 / cycle terms) with respect to the generator
variables and to D's logits on the fakes ("the signal D passes back to G"). `summarize` turns
that into per-layer norms; `input_gradient_maps` and `layer_gradient_maps` give per-pixel and
per-layer gradients. `explain.callbacks.GradientFlow` records them during `fit`;
`explain.render` draws them.

Paper symbols to code names: G is the generator, D the discriminator, L_G is `g_loss`, L_D is
`d_loss`, D(G(x)) is `fake_logits`; dL_G/dD(G(x)) is the "adversarial signal".
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import tensorflow as tf

from keras_styletransfer.errors import InputError
from keras_styletransfer.losses import per_example_mean
from keras_styletransfer.validation import (
    check_number,
    check_positive_int,
    check_positive_number,
)

NETWORKS = ("generator", "discriminator")

FLAG_KEYS = ("gradients_vanishing", "gradients_exploding", "discriminator_saturated")
CHECK_KEYS = (
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


# --- warnings ------------------------------------------------------------------------------------


class GradientWarning(UserWarning):
    """Base of the warnings `GradientFlow` gives about unhealthy gradients."""


class VanishingGradientWarning(GradientWarning):
    """A network's total gradient norm stayed below the threshold for `patience` checks."""


class ExplodingGradientWarning(GradientWarning):
    """A network's total gradient norm is above the threshold, or NaN / infinite."""


class DiscriminatorSaturationWarning(GradientWarning):
    """D rejects (nearly) every fake and the signal it passes back to G has collapsed."""


# --- the model and its probe ---------------------------------------------------------------------


def require_adversarial(model):
    """`model` if it is one of the package's adversarial wrappers, else an InputError."""
    from keras_styletransfer.models.adversarial import AdversarialModel

    if not isinstance(model, AdversarialModel):
        raise InputError(
            "Gradient monitoring needs one of the package's adversarial models (an "
            "AdversarialModel: GAN, Pix2Pix, CycleGAN, MultiStyleGAN); received "
            f"{type(model).__name__}."
        )
    return model


def primary_networks(model):
    """(G, D) the heatmaps and layer slices use: the first direction's (a CycleGAN: G and D_B)."""
    direction = model.directions[0]
    return model.primary_generator(direction), model.primary_discriminator(direction)


def random_states(model):
    """Every random-number state of the wrapper: its own stream, its layers' (dropout, pools)."""
    return list(model.random_states())


def state_variables(model):
    """Non-trainable statistics and random states that a training-mode forward pass changes."""
    seen, variables = set(), []
    networks = [*model.generator_networks(), *model.discriminator_networks()]
    candidates = [v for network in networks for v in network.non_trainable_variables]
    for variable in [*candidates, *random_states(model)]:
        if id(variable) not in seen:
            seen.add(id(variable))
            variables.append(variable)
    return variables


def _as_probe_dtype(value):
    value = np.asarray(value)
    if np.issubdtype(value.dtype, np.floating):
        return value.astype(np.float32)
    if np.issubdtype(value.dtype, np.integer):
        return value.astype(np.int32)
    return value


def make_probe(model, data, size=8, seed=0):
    """A fixed probe batch for `model`, as a dict of NumPy arrays (`model.probe_batch`).

    Args:
        model: GAN, Pix2Pix, CycleGAN or MultiStyleGAN.
        data: one batch shaped as `fit` receives it (GAN: images; Pix2Pix / CycleGAN:
            `(source, target)` / `(images_a, images_b)`; MultiStyleGAN: `(content, style_images,
            style_indices)`), or a `tf.data.Dataset` / iterator whose first batch is used.
        size: int. Examples kept (the first `size`). Defaults to 8.
        seed: int. Seed of a GAN's fixed noise (a NumPy stream). Defaults to 0.

    Returns:
        dict with the keys `model.batch_keys`: GAN `{"real_images", "noise"}`, Pix2Pix
        `{"source_images", "target_images"}`, CycleGAN `{"images_a", "images_b"}`,
        MultiStyleGAN `{"content", "styled", "indices"}`; images float32, indices int32.

    Raises:
        InputError: no data, or a batch that does not fit the model.
    """
    require_adversarial(model)
    if data is None:
        raise InputError(
            "Gradient monitoring needs probe data: one batch like those `fit` receives, or the "
            "training dataset (its first batch is taken at train begin)."
        )
    size = check_positive_int(size, "`probe_size`")
    # Taking the probe must not move the model's random streams (the training run's noise).
    states = random_states(model)
    saved = [state.numpy() for state in states]
    try:
        probe = model.probe_batch(data, size=size, seed=seed)
    except InputError:
        raise
    except (ValueError, TypeError) as error:
        raise InputError(str(error)) from None
    finally:
        for state, value in zip(states, saved, strict=True):
            state.assign(value)
    return {key: _as_probe_dtype(value) for key, value in probe.items()}


def is_probe(model, value):
    """Whether `value` is already a probe of `model` (a dict with exactly its batch keys)."""
    return isinstance(value, dict) and set(value) == set(model.batch_keys)


def probe_tensors(model, probe):
    """A probe (or data `make_probe` accepts) as a dict of tensors."""
    require_adversarial(model)
    probe = probe if is_probe(model, probe) else make_probe(model, probe)
    return {key: tf.convert_to_tensor(value) for key, value in probe.items()}


# --- health checks -------------------------------------------------------------------------------


class GradientHealth:
    """The warning rules of `GradientFlow`, applied to the totals of consecutive checks.

    A warning is given once per onset (`warnings.warn`), and again only after the condition has
    cleared. `update` returns the flags `gradients_vanishing`, `gradients_exploding` and
    `discriminator_saturated` (0.0 or 1.0) of the check.

    Args: as `GradientFlow`'s thresholds.
    """

    def __init__(
        self,
        vanishing_threshold=1e-6,
        exploding_threshold=1e3,
        patience=3,
        saturation_accuracy=0.99,
        starvation_threshold=1e-3,
    ):
        self.vanishing_threshold = check_positive_number(
            vanishing_threshold, "`vanishing_threshold`"
        )
        self.exploding_threshold = check_positive_number(
            exploding_threshold, "`exploding_threshold`"
        )
        self.patience = check_positive_int(patience, "`patience`")
        self.saturation_accuracy = check_number(
            saturation_accuracy, "`saturation_accuracy`", low=0.0, high=1.0, low_open=True
        )
        self.starvation_threshold = check_positive_number(
            starvation_threshold, "`starvation_threshold`"
        )
        self.reset()

    def reset(self):
        self.counters = {"vanishing_generator": 0, "vanishing_discriminator": 0, "saturated": 0}
        self.active = set()

    def _warn(self, key, condition, category, message):
        if condition and key not in self.active:
            warnings.warn(message, category, stacklevel=2)
            self.active.add(key)
        elif not condition:
            self.active.discard(key)

    def update(self, totals, step):
        """Count this check, warn at the onset of a condition; returns the 0/1 flags."""
        flags = dict.fromkeys(FLAG_KEYS, 0.0)
        for role in NETWORKS:
            norm = totals[f"grad_norm_{role}"]
            counter = f"vanishing_{role}"
            small = math.isfinite(norm) and norm < self.vanishing_threshold
            self.counters[counter] = self.counters[counter] + 1 if small else 0
            vanishing = self.counters[counter] >= self.patience
            self._warn(
                counter,
                vanishing,
                VanishingGradientWarning,
                f"The {role}'s gradients vanish: total L2 norm {norm:.3g} < "
                f"{self.vanishing_threshold:g} for {self.counters[counter]} consecutive checks "
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
        self.counters["saturated"] = self.counters["saturated"] + 1 if saturated_now else 0
        saturated = self.counters["saturated"] >= self.patience
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


def build_gradient_function(model, training=False):
    """Compile, once, the gradients GradientFlow records; see `gradient_statistics`.

    Args:
        model: GAN, Pix2Pix, CycleGAN or MultiStyleGAN.
        training: bool. Run the networks in training mode (dropout, batch statistics); the
            statistics and random states are restored afterwards. Defaults to False.

    Returns:
        `(function, layout)`: `function(probe_tensors)` returns a dict of tensors.
    """
    require_adversarial(model)
    layout = _Layout(model)
    generator_variables = layout.variables["generator"]
    discriminator_variables = layout.variables["discriminator"]
    state = state_variables(model) if training else []
    zero = tf.UnconnectedGradients.ZERO

    @tf.function(reduce_retracing=True)
    def compute(probe):
        saved = [tf.identity(variable) for variable in state]
        with tf.GradientTape(persistent=True) as tape:
            terms = model.compute_losses(**probe, training=training)
            logits = model.fake_logits(probe, training=training)
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
        per_example = tf.concat([per_example_mean(tf.cast(lg, tf.float32)) for lg in logits], 0)
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


def combine_norms(values):
    """The L2 norm of a set of norms (of disjoint parts)."""
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
    totals = {key: float(raw[key]) for key in CHECK_KEYS if key in raw}
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
        totals[f"grad_norm_{role}"] = combine_norms(norms)
        for layer in layout.layer_names(role):
            index = [i for i, key in enumerate(keys) if key == layer]
            count = sum(int(np.prod(variables[i].shape)) for i in index)
            row = {
                "network": role,
                "layer": layer,
                "parameters": count,
                "grad_norm": combine_norms(norms[index]),
                "grad_mean_abs": float(np.sum(sums[index]) / max(count, 1)),
                "grad_max_abs": float(np.max(maxima[index])),
                "weight_norm": combine_norms(weights[index]),
            }
            if adversarial is not None:
                row["adversarial_grad_norm"] = combine_norms(adversarial[index])
            rows.append(row)
    totals["grad_norm_generator_adversarial"] = combine_norms(raw["generator_adversarial_norms"])
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
    probe = probe_tensors(model, probe)
    function, layout = build_gradient_function(model, training=training)
    return summarize(function(probe), layout)


# --- per-pixel heatmaps and layer slices ---------------------------------------------------------


def input_gradients(model, probe):
    """|d L_G / d image| and |d D / d image| per pixel (max over channels) on the probe."""
    key, real_key = model.generator_input_key, model.real_image_key
    with tf.GradientTape(persistent=True) as tape:
        if key is None:
            # G's input is noise: differentiate G's loss with respect to G's image instead.
            generator_image = model.generate(probe, training=False)
            tape.watch(generator_image)
            logits = model.discriminator_logits(generator_image, probe, training=False)
            g_loss = tf.reduce_sum(model.adversarial_loss.generator(logits))
        else:
            generator_image = probe[key]
            tape.watch(generator_image)
            probe = {**probe, key: generator_image}
            g_loss = tf.reduce_sum(model.compute_losses(**probe, training=False)["g_loss"])
        d_image = tf.identity(probe[real_key])
        tape.watch(d_image)
        _, verdict = model.real_verdict({**probe, real_key: d_image}, training=False)
        verdict = tf.reduce_sum(verdict)
    zero = tf.UnconnectedGradients.ZERO
    g_map = tape.gradient(g_loss, generator_image, unconnected_gradients=zero)
    d_map = tape.gradient(verdict, d_image, unconnected_gradients=zero)
    del tape
    return {
        "generator_images": generator_image,
        "generator": tf.reduce_max(tf.abs(g_map), axis=-1),
        "discriminator_images": d_image,
        "discriminator": tf.reduce_max(tf.abs(d_map), axis=-1),
    }


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
    probe = probe_tensors(model, probe)
    maps = input_gradients(model, probe) if function is None else function(probe)
    return {key: np.asarray(value) for key, value in maps.items()}


def resolve_gradient_layers(model, layer_names):
    """`{"generator": [names], ...}` -> the primary networks' layers, or an InputError."""
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


def layer_gradients(model, probe, layers):
    """Gradients of G's loss / D's verdict with respect to `layers`' activations (tensors)."""
    from keras_styletransfer.explain.targets import LayerCapture

    captures = {
        role: [LayerCapture(layer) for layer in role_layers] for role, role_layers in layers.items()
    }
    with tf.GradientTape(persistent=True) as tape, contextlib.ExitStack() as stack:
        for role_captures in captures.values():
            for capture in role_captures:
                stack.enter_context(capture)
        # D's verdict on the real images first, so D's layers' first call is on them.
        _, verdict = model.real_verdict(probe, training=False)
        verdict = tf.reduce_sum(verdict)
        g_loss = tf.reduce_sum(model.compute_losses(**probe, training=False)["g_loss"])
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
    layers = resolve_gradient_layers(model, layer_names)
    probe = probe_tensors(model, probe)
    maps = function(probe) if function is not None else layer_gradients(model, probe, layers)
    return {key: np.asarray(value) for key, value in maps.items()}
