"""Discriminators from the source documents.

Every discriminator here outputs *logits*. The documents end with `Dense(1, activation="sigmoid")`
and the blog DCGAN then feeds those probabilities to `BinaryCrossentropy(from_logits=True)`, which
applies a second sigmoid (its loss can never go below log(1 + e^-1) and its gradients shrink).
The losses in `keras_styletransfer.losses` take logits, so the sigmoid lives there, once; apply
`keras.ops.sigmoid` to a discriminator's output for a probability.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_styletransfer.models.base import GraphModel, as_tuple, check_dropout
from keras_styletransfer.validation import check_int, check_positive_int

_PACKAGE = "keras_styletransfer"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MLPDiscriminator(GraphModel):
    """The MLP GAN source's fully connected discriminator: 784 -> 1024 -> 512 -> 256 -> 1 logit.

    It takes images (28x28x1 by default) and flattens them to the document's 784-vector.

    Args:
        image_shape: tuple of int. Input (height, width, channels). Defaults to (28, 28, 1).
        hidden_units: tuple of int. Widths of the ReLU layers. Defaults to (1024, 512, 256).
        name: str. Defaults to "mlp_discriminator".
    """

    def __init__(
        self,
        image_shape=(28, 28, 1),
        hidden_units=(1024, 512, 256),
        name="mlp_discriminator",
        **kwargs,
    ):
        image_shape = as_tuple(image_shape, "image_shape")
        hidden_units = as_tuple(hidden_units, "hidden_units")
        images = keras.Input(shape=image_shape, name="images")
        x = layers.Reshape((math.prod(image_shape),), name="flatten")(images)
        for index, units in enumerate(hidden_units, start=1):
            x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
        logits = layers.Dense(1, name="logit")(x)
        super().__init__(inputs=images, outputs=logits, name=name, **kwargs)
        self.image_shape = image_shape
        self._remember_config(image_shape=image_shape, hidden_units=hidden_units)


class _StridedDiscriminator(GraphModel):
    """Stride-2 Conv2D -> LeakyReLU [-> Dropout] per entry of `filters`, then Flatten ->
    Dense(1) logit. A subclass sets the block's `_kernel_size` and `_negative_slope`, and
    `_first_dropout`: Dropout after every block (even at rate 0), else only after the second
    block on, and only at a rate above 0; its constructor gives the defaults."""

    _kernel_size = None
    _negative_slope = None
    _first_dropout = None

    def __init__(self, image_shape, filters, dropout, name, **kwargs):
        image_shape, filters = as_tuple(image_shape, "image_shape"), as_tuple(filters, "filters")
        dropout = check_dropout(dropout)
        images = keras.Input(shape=image_shape, name="images")
        x = images
        for index, width in enumerate(filters, start=1):
            x = layers.Conv2D(
                width, self._kernel_size, strides=2, padding="same", name=f"conv{index}"
            )(x)
            x = layers.LeakyReLU(negative_slope=self._negative_slope, name=f"conv{index}_lrelu")(x)
            if self._first_dropout or (index > 1 and dropout):
                x = layers.Dropout(dropout, name=f"conv{index}_dropout")(x)
        x = layers.Flatten(name="flatten")(x)
        logits = layers.Dense(1, name="logit")(x)
        super().__init__(inputs=images, outputs=logits, name=name, **kwargs)
        self.image_shape = image_shape
        self._remember_config(image_shape=image_shape, filters=filters, dropout=dropout)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DCGANDiscriminator(_StridedDiscriminator):
    """The blog DCGAN's convolutional discriminator for 64x64x3 images, completed.

    Conv2D(64, 5x5, stride 2, same) -> LeakyReLU as in the document, then the omitted middle:
    one more stride-2 Conv2D -> LeakyReLU -> Dropout per entry of `filters`; then Flatten ->
    Dense(1) logit.

    Args:
        image_shape: tuple of int. Defaults to (64, 64, 3).
        filters: tuple of int. Channels of the stride-2 convolutions. Defaults to (64, 128, 256).
        dropout: float. Dropout rate after each block but the first. Defaults to 0.3.
        name: str. Defaults to "dcgan_discriminator".
    """

    # The blog's LeakyReLU() has Keras' default slope, 0.3; no dropout after the first block.
    _kernel_size, _negative_slope, _first_dropout = 5, 0.3, False

    def __init__(
        self,
        image_shape=(64, 64, 3),
        filters=(64, 128, 256),
        dropout=0.3,
        name="dcgan_discriminator",
        **kwargs,
    ):
        super().__init__(image_shape, filters, dropout, name=name, **kwargs)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MNISTDiscriminator(_StridedDiscriminator):
    """The MNIST tutorial's MNIST discriminator, outputting a logit.

    Conv2D(64, 3, stride 2) -> LeakyReLU(0.2) -> Dropout(0.3) -> Conv2D(128, 3, stride 2) ->
    LeakyReLU(0.2) -> Dropout(0.3) -> Flatten -> Dense(1).

    Args:
        image_shape: tuple of int. Defaults to (28, 28, 1).
        filters: tuple of int. Defaults to (64, 128).
        dropout: float. Defaults to 0.3.
        name: str. Defaults to "mnist_discriminator".
    """

    _kernel_size, _negative_slope, _first_dropout = 3, 0.2, True

    def __init__(
        self,
        image_shape=(28, 28, 1),
        filters=(64, 128),
        dropout=0.3,
        name="mnist_discriminator",
        **kwargs,
    ):
        super().__init__(image_shape, filters, dropout, name=name, **kwargs)


# --- image-to-image discriminators: any size, logits per patch or per image ----------------------


_NORMS = ("batch", "instance")


def _check_norm(norm):
    if norm not in _NORMS:
        raise ValueError(f"`norm` must be 'batch' or 'instance'; received {norm!r}.")
    return norm


def _check_trunk(num_layers, filters, channels, norm):
    """The checked options of `_patch_trunk` and of the image it takes."""
    return (
        check_positive_int(num_layers, "num_layers"),
        check_positive_int(filters, "filters"),
        check_positive_int(channels, "channels"),
        _check_norm(norm),
    )


def _norm_layer(norm, name):
    if norm == "batch":
        return layers.BatchNormalization(name=name)
    if norm == "instance":
        from keras_styletransfer.layers import instance_norm

        return instance_norm(name)
    raise ValueError(f"`norm` must be 'batch' or 'instance'; received {norm!r}.")


def _patch_trunk(x, num_layers, filters, norm):
    """pix2pix / CycleGAN trunk: C64 (no norm), then num_layers - 1 stride-2 and one stride-1
    4x4 conv with norm and LeakyReLU(0.2)."""
    initializer = keras.initializers.RandomNormal(0.0, 0.02)
    x = layers.Conv2D(
        filters, 4, strides=2, padding="same", kernel_initializer=initializer, name="conv1"
    )(x)
    x = layers.LeakyReLU(0.2, name="conv1_lrelu")(x)
    for index in range(2, num_layers + 2):
        width = filters * min(2 ** (index - 1), 8)
        strides = 2 if index <= num_layers else 1
        x = layers.Conv2D(
            width,
            4,
            strides=strides,
            padding="same",
            use_bias=False,
            kernel_initializer=initializer,
            name=f"conv{index}",
        )(x)
        x = _norm_layer(norm, f"conv{index}_norm")(x)
        x = layers.LeakyReLU(0.2, name=f"conv{index}_lrelu")(x)
    return x


def patch_receptive_field(num_layers):
    """Receptive field in pixels of a PatchGAN with `num_layers` (70 for 3, 34 for 2, 16 for 1).

    The closed form for the standard stack: 4x4 kernels, `num_layers` stride-2 convs then two
    stride-1 convs (the last trunk conv and the 1-channel head). `receptive_field_of(model)`
    reads the same number off a built model's layers.

    Args:
        num_layers: int. Stride-2 convolutions.

    Returns:
        int. Side, in input pixels, of the square patch that one output logit sees.
    """
    strides = [2] * num_layers + [1, 1]
    field = 1
    for stride in reversed(strides):
        field = (field - 1) * stride + 4
    return field


def receptive_field_of(model):
    """Receptive field, in input pixels, of one output unit of a chain of convolutions.

    Walks the model's `Conv2D` and 2-D pooling layers in graph order: each widens the field by
    `(kernel - 1) * dilation * jump` and multiplies the jump (the input-pixel distance between
    neighbouring units) by its stride. Valid for chains (merges of same-resolution inputs, like
    the conditional PatchGAN's concatenation, are fine), not for multi-scale branches; global
    pooling layers are ignored (their field is the whole image).

    Args:
        model: keras.Model. A built model.

    Returns:
        int. Side of the square input patch that one output unit sees.
    """
    field, jump = 1, 1
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            kernel, stride, dilation = (
                layer.kernel_size[0],
                layer.strides[0],
                layer.dilation_rate[0],
            )
        elif isinstance(layer, layers.MaxPooling2D | layers.AveragePooling2D):
            kernel, stride, dilation = layer.pool_size[0], layer.strides[0], 1
        else:
            continue
        field += (kernel - 1) * dilation * jump
        jump *= stride
    return field


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PatchGANDiscriminator(GraphModel):
    """PatchGAN: a map of logits, each judging one overlapping patch (Isola et al., 2017).

    C64 (Conv 4x4 stride 2, LeakyReLU 0.2, no norm), then `num_layers - 1` more stride-2 and one
    stride-1 Conv 4x4 + norm + LeakyReLU(0.2) (widths 128, 256, 512, capped at 8 * filters), then
    a stride-1 Conv 4x4 to one channel. `num_layers=3` is the standard 70x70 PatchGAN (34x34 for
    2, 16x16 for 1): `receptive_field` is read off the built layer stack.

    Inputs: `image` (batch, H, W, channels) in [-1, 1], any H and W; with `conditional=True`,
    `[condition, image]` (inputs named "condition" and "image"; a dict with those keys works
    too), concatenated on channels (layer "pair"): pix2pix's discriminator judging the pair.
    Output: logits (no sigmoid), (batch, ceil(H / 2**num_layers), ceil(W / 2**num_layers),
    num_outputs), one per patch (layer "patch_logits"); with `num_outputs > 1`, one map per
    domain (StarGAN v2's multi-task discriminator: `MultiStyleGAN` reads the target domain's).
    Trunk layers are `conv{i}`, `conv{i}_norm`, `conv{i}_lrelu` for i = 1 .. num_layers + 1
    (no `conv1_norm`).

    Args:
        num_layers: int. Stride-2 convolutions. Defaults to 3.
        filters: int. Width of the first layer. Defaults to 64.
        channels: int. Channels of the judged image. Defaults to 3.
        conditional: bool. Take a condition image as well. Defaults to False.
        condition_channels: int. Channels of the condition image. Defaults to 3.
        norm: str. "batch" (pix2pix) or "instance" (CycleGAN). Defaults to "instance".
        num_outputs: int. Logit maps, one per domain judged. Defaults to 1.
        name: str. Defaults to "patchgan_discriminator".

    Example:
        >>> discriminator = PatchGANDiscriminator()
        >>> discriminator.receptive_field
        70
        >>> discriminator(keras.random.uniform((1, 256, 256, 3), -1, 1)).shape
        TensorShape([1, 32, 32, 1])

    References:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", 2017.
    """

    def __init__(
        self,
        num_layers=3,
        filters=64,
        channels=3,
        conditional=False,
        condition_channels=3,
        norm="instance",
        num_outputs=1,
        name="patchgan_discriminator",
        **kwargs,
    ):
        num_layers, filters, channels, norm = _check_trunk(num_layers, filters, channels, norm)
        condition_channels = check_positive_int(condition_channels, "condition_channels")
        num_outputs = check_positive_int(num_outputs, "num_outputs")
        if not isinstance(conditional, bool):
            raise ValueError(f"`conditional` must be True or False; received {conditional!r}.")
        image = keras.Input((None, None, channels), name="image")
        if conditional:
            condition = keras.Input((None, None, condition_channels), name="condition")
            inputs = [condition, image]
            x = layers.Concatenate(name="pair")([condition, image])
        else:
            inputs, x = image, image
        x = _patch_trunk(x, num_layers, filters, norm)
        logits = layers.Conv2D(num_outputs, 4, padding="same", name="patch_logits")(x)
        super().__init__(inputs=inputs, outputs=logits, name=name, **kwargs)
        # Read off the layer stack, so a change to the trunk cannot leave it stale.
        self.receptive_field = receptive_field_of(self)
        self._remember_config(
            num_layers=num_layers,
            filters=filters,
            channels=channels,
            conditional=bool(conditional),
            condition_channels=condition_channels,
            norm=norm,
            num_outputs=num_outputs,
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GlobalPoolDiscriminator(GraphModel):
    """The PatchGAN trunk with a global-average-pool head: one logit per image.

    Pooled heads give far more faithful Grad-CAM maps than Flatten + Dense (DESIGN.md §3).

    Input: `image` (batch, H, W, channels) in [-1, 1], any H and W. Trunk layers as
    `PatchGANDiscriminator` (`conv{i}`, `conv{i}_norm`, `conv{i}_lrelu`), then
    GlobalAveragePooling2D ("pool") and Dense(1) ("adversarial_logits"): output (batch, 1)
    real/fake logits. With `num_styles > 0` a second Dense head ("style_logits") classifies the
    style (AC-GAN / StarGAN's auxiliary classifier) and the outputs are
    `[adversarial_logits (batch, 1), style_logits (batch, num_styles)]`, both logits.

    Args:
        num_layers: int. Stride-2 convolutions of the trunk. Defaults to 3.
        filters: int. Width of the first layer. Defaults to 64.
        channels: int. Image channels. Defaults to 3.
        num_styles: int. Classes of the style head; 0 for none. Defaults to 0.
        norm: str. "batch" or "instance". Defaults to "instance".
        name: str. Defaults to "global_pool_discriminator".

    References:
        Odena et al., "Conditional Image Synthesis with Auxiliary Classifier GANs", 2017; Choi et
        al., "StarGAN", 2018.
    """

    def __init__(
        self,
        num_layers=3,
        filters=64,
        channels=3,
        num_styles=0,
        norm="instance",
        name="global_pool_discriminator",
        **kwargs,
    ):
        num_layers, filters, channels, norm = _check_trunk(num_layers, filters, channels, norm)
        num_styles = check_int(num_styles, "num_styles", low=0)
        image = keras.Input((None, None, channels), name="image")
        x = _patch_trunk(image, num_layers, filters, norm)
        pooled = layers.GlobalAveragePooling2D(name="pool")(x)
        outputs = layers.Dense(1, name="adversarial_logits")(pooled)
        if num_styles:
            outputs = [outputs, layers.Dense(num_styles, name="style_logits")(pooled)]
        super().__init__(inputs=image, outputs=outputs, name=name, **kwargs)
        self._remember_config(
            num_layers=num_layers,
            filters=filters,
            channels=channels,
            num_styles=num_styles,
            norm=norm,
        )
