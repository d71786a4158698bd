"""Controlling a trained generator: style strength and blends, unit knobs, latent directions.

- `strength_sweep` / `blend`: the multi-style generator's own controls (`StyleGenerator` takes
  `{"image", "style", "strength"}`; its output is `image + strength * (styled - image)`, so
  strength 0 is the photo and 1 the full style).
- `set_units`: scale, or set to a value, chosen channels of a named layer while the generator
  runs (a hook on the layer's `call`; the model is left unchanged afterwards).
- `sefa_directions`: closed-form factorisation (SeFa, Shen & Zhou 2021): the eigenvectors of
  W^T W of the first weight layer after a bottleneck, W its kernel as a matrix (rows: outputs
  and kernel positions, columns: the bottleneck's channels). Moving the bottleneck along the top
  eigenvector changes the next layer's pre-activation the most per unit of norm.
- `pca_directions`: principal components of the bottleneck's activations (channel vectors at
  every position) over a set of images (GANSpace, Harkonen et al. 2020).
- `apply_direction`: add `alpha * direction` to the layer's output at every position;
  `slider_strip` saves a PNG with one column per slider value.

Style choices and strengths follow the package's one rule (`keras_styletransfer.validation`:
`style_weights`, `check_strength` with strength in [0, 1]), as `stylize`, export and fusion.
`inputs` is whatever the generator takes: an image batch, or for a `StyleGenerator` a dict
`{"image", "style", "strength"}` (see `style_inputs`).
"""

from __future__ import annotations

import contextlib

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.layers import wrap_layer_call
from keras_styletransfer.validation import check_strength, style_weights


def _tf():
    import tensorflow as tf

    return tf


# --- multi-style controls --------------------------------------------------------------------


def _style_network(model):
    """(generator, style slot names, slot count) from a StyleGenerator or a MultiStyleGAN."""
    from keras_styletransfer.explain.targets import is_style_generator, is_wrapper
    from keras_styletransfer.models.base import named_input

    generator, names = model, None
    if is_wrapper(model):
        generator, names = model.primary_generator(), model.generator_style_names
    if not is_style_generator(generator):
        raise InputError(
            f"{getattr(model, 'name', model)!r} is not a multi-style generator taking "
            "{'image', 'style', 'strength'}; pass a StyleGenerator or a MultiStyleGAN."
        )
    count = int(named_input(generator, "style", 1).shape[-1])
    # A bare generator's slots have no names: they are chosen by index.
    return generator, list(names) if names else [str(index) for index in range(count)], count


def style_inputs(images, weights, strength):
    """The dict a `StyleGenerator` takes, with one weight vector and strength for every image."""
    images = np.asarray(images, "float32")
    batch = images.shape[0]
    return {
        "image": images,
        "style": np.tile(np.asarray(weights, "float32")[None], (batch, 1)),
        "strength": np.full((batch, 1), float(strength), "float32"),
    }


def strength_sweep(model, images, style, strengths=(0.0, 0.25, 0.5, 0.75, 1.0)):
    """Render `images` in one style at several strengths.

    Args:
        model: StyleGenerator or MultiStyleGAN.
        images: array (batch, H, W, C) in [-1, 1].
        style: index, name, `{name: weight}` or one weight per slot
            (`keras_styletransfer.validation.style_weights`).
        strengths: sequence of float in [0, 1]. 0 returns the images, 1 the full style; values
            in between (also ones not seen in training) interpolate continuously. Defaults to
            0 .. 1 by 0.25.

    Returns:
        np.ndarray (len(strengths), batch, H, W, C).
    """
    generator, names, _ = _style_network(model)
    weights = style_weights(style, names)
    outputs = [
        np.asarray(generator(style_inputs(images, weights, check_strength(s)), training=False))
        for s in strengths
    ]
    return np.stack(outputs)


def blend(model, images, weights, strength=1.0):
    """Render `images` in a mix of styles.

    Args:
        model: StyleGenerator or MultiStyleGAN.
        images: array (batch, H, W, C) in [-1, 1].
        weights: sequence of one weight >= 0 per style slot (normalised to sum 1), or a dict
            {style name: weight} with a MultiStyleGAN
            (`keras_styletransfer.validation.style_weights`).
        strength: float in [0, 1]. Defaults to 1.

    Returns:
        np.ndarray (batch, H, W, C).
    """
    generator, names, _ = _style_network(model)
    inputs = style_inputs(images, style_weights(weights, names), check_strength(strength))
    return np.asarray(generator(inputs, training=False))


# --- hooks and unit knobs --------------------------------------------------------------------


def find_layer(model, layer_name):
    """The layer called `layer_name`, or an InputError listing the model's layer names."""
    try:
        return model.get_layer(layer_name)
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers)
        raise InputError(f"{model.name} has no layer {layer_name!r}. Layers: {names}.") from None


@contextlib.contextmanager
def layer_hook(model, layer_name, edit):
    """While active, `model`'s layer `layer_name` returns `edit(output)` instead of its output.

    Args:
        model: keras.Model.
        layer_name: str.
        edit: callable on the layer's output tensor.

    Yields:
        The layer.
    """
    layer = find_layer(model, layer_name)
    with wrap_layer_call(layer, lambda call, *args, **kwargs: edit(call(*args, **kwargs))):
        yield layer


def _channels(model, layer_name):
    return int(find_layer(model, layer_name).output.shape[-1])


def _check_units(units, channels, layer_name):
    units = [units] if isinstance(units, (int, np.integer)) else list(units)
    bad = [u for u in units if isinstance(u, bool) or not 0 <= int(u) < channels]
    if not units or bad:
        raise InputError(
            f"units must be channel indices of {layer_name!r} in 0..{channels - 1}; "
            f"received {units}."
        )
    return [int(u) for u in units]


def set_units(model, inputs, layer_name, units, scale=None, value=None):
    """Run `model` with chosen channels of a layer scaled (`scale`) or replaced (`value`).

    Args:
        model: keras.Model (functional or a GraphModel generator).
        inputs: what the model takes.
        layer_name: str.
        units: int or list of int. Channel indices.
        scale: float. Multiply the units by it (1 = unchanged, 0 = ablation).
        value: float. Set the units to this constant instead. Give exactly one of the two.

    Returns:
        np.ndarray: the model's output.
    """
    tf = _tf()
    if (scale is None) == (value is None):
        raise InputError("Give exactly one of scale=... (multiply) or value=... (set).")
    channels = _channels(model, layer_name)
    units = _check_units(units, channels, layer_name)
    selected = np.zeros(channels, "float32")
    selected[units] = 1.0

    def edit(output):
        chosen = tf.constant(selected, output.dtype)
        replacement = (
            output * float(scale)
            if scale is not None
            else tf.fill(tf.shape(output), tf.cast(value, output.dtype))
        )
        return output * (1 - chosen) + replacement * chosen

    with layer_hook(model, layer_name, edit):
        return np.asarray(model(inputs, training=False))


# --- directions ------------------------------------------------------------------------------


def _consumer_with_kernel(model, layer_name):
    """The first layer fed by `layer_name`'s output that has a kernel (following single-input
    layers without weights, such as padding or activations)."""
    tensor = find_layer(model, layer_name).output
    for _ in range(len(model.layers)):
        consumers = [
            layer
            for layer in model.layers
            for node in layer._inbound_nodes
            if any(t is tensor for t in node.input_tensors)
        ]
        if not consumers:
            break
        layer = consumers[0]
        if getattr(layer, "kernel", None) is not None:
            return layer
        tensor = layer.output
    raise InputError(
        f"No layer with a kernel follows {layer_name!r} in {model.name}; pass weight_layer_name."
    )


def kernel_matrix(layer):
    """A layer's kernel as a matrix (rows: outputs x kernel positions, columns: input channels).

    Conv2D kernels are (kh, kw, in, out), Conv2DTranspose (kh, kw, out, in), Dense (in, out).
    """
    import keras

    kernel = np.asarray(layer.kernel, dtype="float64")
    if isinstance(layer, keras.layers.Conv2DTranspose):  # (kh, kw, out, in): inputs last
        return kernel.reshape(-1, kernel.shape[-1])
    if kernel.ndim == 2:  # Dense (in, out)
        return kernel.T
    kernel = np.moveaxis(kernel, -2, -1)  # (..., out, in)
    return kernel.reshape(-1, kernel.shape[-1])


def sefa_directions(model, layer_name, weight_layer_name=None):
    """SeFa: directions of a bottleneck layer from the next layer's weights, in closed form.

    Args:
        model: keras.Model.
        layer_name: str. The bottleneck whose output is moved.
        weight_layer_name: str. The weight layer to factorise. Defaults to the first layer with a
            kernel after `layer_name`.

    Returns:
        (directions, eigenvalues): np.ndarray (C, C) with one unit-norm direction per row, in
        decreasing order of eigenvalue of W^T W, and np.ndarray (C,) of those eigenvalues.

    References:
        Shen & Zhou, "Closed-Form Factorization of Latent Semantics in GANs", 2021.
    """
    if weight_layer_name is None:
        layer = _consumer_with_kernel(model, layer_name)
    else:
        layer = find_layer(model, weight_layer_name)
    matrix = kernel_matrix(layer)
    channels = _channels(model, layer_name)
    if matrix.shape[1] != channels:
        raise InputError(
            f"{layer.name!r} takes {matrix.shape[1]} channels but {layer_name!r} has {channels}: "
            "choose the layer that reads the bottleneck directly."
        )
    eigenvalues, eigenvectors = np.linalg.eigh(matrix.T @ matrix)
    order = np.argsort(eigenvalues)[::-1]
    return eigenvectors[:, order].T.astype("float32"), eigenvalues[order]


def layer_activations(model, inputs, layer_name):
    """`layer_name`'s output for `inputs`, as a NumPy array (`explain.activations`)."""
    from keras_styletransfer.explain import activations

    find_layer(model, layer_name)  # this module's message for an unknown layer
    return activations.layer_activations(model, inputs, [layer_name])[layer_name]


def pca_directions(model, inputs, layer_name, count=None):
    """Principal directions of a layer's channel vectors over `inputs` (every position).

    Args:
        model: keras.Model.
        inputs: what the model takes (a set of images).
        layer_name: str.
        count: int. Directions to keep. Defaults to all (the number of channels).

    Returns:
        (directions, explained_variance_ratio): np.ndarray (count, C) unit-norm rows, and the
        share of the activations' variance along each, decreasing.
    """
    activations = layer_activations(model, inputs, layer_name)
    samples = activations.reshape(-1, activations.shape[-1]).astype("float64")
    samples -= samples.mean(axis=0)
    _, singular, vt = np.linalg.svd(samples, full_matrices=False)
    variance = singular**2
    ratio = variance / variance.sum() if variance.sum() else variance
    count = len(ratio) if count is None else int(count)
    return vt[:count].astype("float32"), ratio[:count]


def apply_direction(model, inputs, layer_name, direction, alpha):
    """Run `model` with `alpha * direction` added to a layer's output at every position.

    Args:
        model: keras.Model.
        inputs: what the model takes.
        layer_name: str.
        direction: array (C,). A direction of the layer's channels (e.g. from
            `sefa_directions` or `pca_directions`).
        alpha: float. Slider value; 0 gives the unmodified output exactly.

    Returns:
        np.ndarray: the model's output.
    """
    tf = _tf()
    direction = np.asarray(direction, "float32").ravel()
    channels = _channels(model, layer_name)
    if direction.shape != (channels,):
        raise InputError(
            f"direction must have {channels} entries (the channels of {layer_name!r}); "
            f"received {direction.shape[0]}."
        )
    shift = float(alpha) * direction

    def edit(output):
        return output + tf.constant(shift, output.dtype)

    with layer_hook(model, layer_name, edit):
        return np.asarray(model(inputs, training=False))


def slider_strip(model, inputs, layer_name, direction, alphas, path, images=None):
    """Save a PNG: one row per image, one column per slider value `alpha`.

    Args:
        model, inputs, layer_name, direction: as `apply_direction`.
        alphas: sequence of float.
        path: str. PNG file.
        images: array or None. The displayed rows' inputs, shown in a first column.

    Returns:
        str: the path written.
    """
    from keras_styletransfer.explain.render import save_grid
    from keras_styletransfer.images import as_rgb_uint8

    outputs = [apply_direction(model, inputs, layer_name, direction, a) for a in alphas]
    titles = [f"alpha {alpha:g}" for alpha in alphas]
    rows = [[as_rgb_uint8(output[row]) for output in outputs] for row in range(len(outputs[0]))]
    if images is not None:
        titles = ["input", *titles]
        rows = [[as_rgb_uint8(images[index]), *row] for index, row in enumerate(rows)]
    return save_grid(path, rows, titles, title=f"{layer_name}: slider")
