"""What a network's layers compute: activations of named layers, feature-map grids, a callback.

`layer_activations` captures layer outputs with a hook on each layer's `call`
(`explain.targets.LayerCapture`), so it works on functional, functional-subclass, subclassed,
nested and multi-input models alike: a layer inside a nested model is named by its own name or
as "outer_model/layer". `explain.render.save_feature_maps` draws, per layer, the `top_k`
channels with the largest mean |activation|; `ActivationMaps` writes that grid every epoch
during `fit` for chosen layers of G or D on a fixed probe batch.
"""

from __future__ import annotations

import contextlib
import os

import keras
import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain.render import save_feature_maps
from keras_styletransfer.validation import check_positive_int


def layer_paths(model, prefix=""):
    """Every layer of `model` as "name", and as "outer/name" inside nested models."""
    paths = []
    for layer in model.layers:
        paths.append(prefix + layer.name)
        if isinstance(layer, keras.Model):
            paths.extend(layer_paths(layer, prefix + layer.name + "/"))
    return paths


def _child(model, name):
    for layer in getattr(model, "layers", []):
        if layer.name == name:
            return layer
    return None


def _find(model, name):
    """A layer of `model` by name (searched in nested models too) or by "outer/inner" path."""
    from keras_styletransfer.explain.targets import find_layer

    if not isinstance(name, str) or not name:
        raise InputError(f"Layer names must be non-empty strings; received {name!r}.")
    if "/" in name:
        parts = name.split("/")
        if parts[0] == model.name and _child(model, parts[0]) is None:
            parts = parts[1:]
        layer = model
        for part in parts:
            layer = _child(layer, part)
            if layer is None:
                break
        if layer is not None:
            return layer
        raise InputError(
            f"No layer {name!r} in {model.name!r}. Valid layers: " + ", ".join(layer_paths(model))
        )
    return find_layer([model], name)[1]


def layer_activations(model, images, layer_names, training=False):
    """The outputs of named layers when `model` runs on `images`.

    Args:
        model: keras.Model. Any model whose layers are called by its `call` (functional,
            functional-subclass as the package's networks, subclassed, nested).
        images: array, tensor, list or dict: whatever `model` takes.
        layer_names: str or list of str. Layer names; a nested model's layer by its name or as
            "model_name/layer_name".
        training: bool. Run the model in training mode. Defaults to False.

    Returns:
        dict name -> NumPy array, the layer's output the first time the model calls it (the
        first tensor for layers with several outputs), in the order of `layer_names`.

    Raises:
        InputError: an unknown layer name (the message lists the model's layers), or a layer
            the model does not call.

    Example:
        >>> maps = layer_activations(generator, photos, ["down1", "res1_add"])
        >>> maps["down1"].shape
        (4, 64, 64, 16)
    """
    from keras_styletransfer.explain.targets import LayerCapture

    if isinstance(layer_names, str):
        layer_names = [layer_names]
    if not layer_names:
        raise InputError("Pass at least one layer name.")
    layers = [_find(model, name) for name in layer_names]
    captures = [LayerCapture(layer) for layer in layers]
    with contextlib.ExitStack() as stack:
        for capture in captures:
            stack.enter_context(capture)
        model(images, training=training)
    result = {}
    for name, capture in zip(layer_names, captures, strict=True):
        if not capture.outputs:
            raise InputError(f"Layer {name!r} is not called when {model.name!r} runs.")
        output = capture.outputs[0]
        if isinstance(output, list | tuple):
            output = output[0]
        result[name] = np.asarray(keras.ops.convert_to_numpy(output))
    return result


class ActivationMaps(keras.callbacks.Callback):
    """Write the strongest feature maps of chosen layers of G or D on a fixed probe, per epoch.

    Inside `GAN.fit`, `Pix2Pix.fit`, `CycleGAN.fit` or `MultiStyleGAN.fit`. The probe is taken
    at train begin (`explain.gradients.make_probe`); G runs on its probe inputs (noise, source
    photos, domain-A images, or photos with their target styles), D on the probe's real images
    (for a CycleGAN: G: A -> B and D_B). Files: `output_dir/activations_<network>_epoch_NNN.png`.

    Args:
        output_dir: str. Folder for the PNG files.
        layer_names: str or list of str. Layers of the chosen network.
        network: str. "generator" or "discriminator". Defaults to "generator".
        probe_data: a batch as `fit` receives it, or a `tf.data.Dataset` (first batch). Required.
        probe_size: int. Probe examples. Defaults to 4.
        top_k: int. Channels per layer. Defaults to 8.
        image_index: int. Which probe image is drawn. Defaults to 0.
        every: int. Epochs between grids. Defaults to 1.
        seed: int. Seed of a GAN probe's noise. Defaults to 0.

    Raises:
        InputError: unknown layer names (at train begin; the message lists the layers) or a
            bad `network`.
    """

    def __init__(
        self,
        output_dir,
        layer_names,
        network="generator",
        probe_data=None,
        probe_size=4,
        top_k=8,
        image_index=0,
        every=1,
        seed=0,
    ):
        super().__init__()
        if network not in ("generator", "discriminator"):
            raise InputError(
                f"`network` must be 'generator' or 'discriminator'; received {network!r}."
            )
        self.every = check_positive_int(every, "`every`")
        self.output_dir = output_dir
        self.layer_names = [layer_names] if isinstance(layer_names, str) else list(layer_names)
        self.network = network
        self.probe_data = probe_data
        self.probe_size = probe_size
        self.top_k = top_k
        self.image_index = image_index
        self.seed = seed
        self.written = []
        self.last_activations = None

    def on_train_begin(self, logs=None):
        from keras_styletransfer.explain import gradients

        model = self.model
        probe = gradients.make_probe(model, self.probe_data, self.probe_size, self.seed)
        generator, discriminator = gradients.primary_networks(model)
        if self.network == "generator":
            self._network = generator
            self._inputs = model.generator_inputs(probe)
        else:
            self._network = discriminator
            self._inputs = model.discriminator_inputs(probe)
        for name in self.layer_names:
            _find(self._network, name)  # fail now, not after an epoch of training

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        self.last_activations = layer_activations(self._network, self._inputs, self.layer_names)
        path = os.path.join(
            self.output_dir, f"activations_{self.network}_epoch_{epoch + 1:03d}.png"
        )
        save_feature_maps(
            self.last_activations,
            path,
            top_k=self.top_k,
            image_index=self.image_index,
            title=f"{self._network.name}, epoch {epoch + 1}",
        )
        self.written.append(path)
