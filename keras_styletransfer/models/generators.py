"""Generators from the source documents, faithful in their layer stacks and correct in their shapes.

All generators output images in [-1, 1], the range that `keras_styletransfer.data` scales real
images to, so a generator's output can be fed to its discriminator without conversion.
"""

from __future__ import annotations

import math

import keras
from keras import layers

from keras_styletransfer.models.base import (
    GraphModel,
    StyleSlots,
    as_tuple,
    blend_by_strength,
    check_dropout,
)
from keras_styletransfer.validation import check_int, check_positive_int

_PACKAGE = "keras_styletransfer"


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MLPGenerator(GraphModel):
    """A fully connected GAN generator: z (100) -> 256 -> 512 -> 1024 -> 784 -> 28x28x1.

    The document's last layer is `Dense(784, activation="sigmoid")`, whose output lies in [0, 1];
    its `visualize_generator` then rescaled that as if it were tanh output. Here the sigmoid is kept
    and followed by an explicit affine map 2 * y - 1, so the generator's images are in [-1, 1] like
    the real data, and the 784-vector is reshaped to an image (the document plotted flat vectors).

    Args:
        latent_dim: int. Size of the noise vector z. Defaults to 100.
        hidden_units: tuple of int. Widths of the ReLU layers. Defaults to (256, 512, 1024).
        image_shape: tuple of int. (height, width, channels) of the output. Defaults to (28, 28, 1).
        name: str. Defaults to "mlp_generator".

    Example:
        >>> generator = MLPGenerator()
        >>> generator(keras.random.normal((4, 100))).shape
        TensorShape([4, 28, 28, 1])
    """

    def __init__(
        self,
        latent_dim=100,
        hidden_units=(256, 512, 1024),
        image_shape=(28, 28, 1),
        name="mlp_generator",
        **kwargs,
    ):
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        hidden_units = as_tuple(hidden_units, "hidden_units")
        image_shape = as_tuple(image_shape, "image_shape")
        noise = keras.Input(shape=(latent_dim,), name="noise")
        x = noise
        for index, units in enumerate(hidden_units, start=1):
            x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
        x = layers.Dense(math.prod(image_shape), activation="sigmoid", name="dense_out")(x)
        x = layers.Rescaling(2.0, offset=-1.0, name="to_tanh_range")(x)
        images = layers.Reshape(image_shape, name="to_image")(x)
        super().__init__(inputs=noise, outputs=images, name=name, **kwargs)
        self.latent_dim = latent_dim
        self.image_shape = image_shape
        self._remember_config(
            latent_dim=latent_dim, hidden_units=hidden_units, image_shape=image_shape
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class DCGANGenerator(GraphModel):
    """The blog DCGAN's DCGAN generator, with the upsampling layers the document left out.

    Dense(8*8*256, no bias) -> BatchNorm -> LeakyReLU -> Reshape(8, 8, 256), then one block per
    entry of `upsampling_filters`: Conv2DTranspose(f, 5, stride 2, no bias) -> BatchNorm ->
    LeakyReLU, doubling the size each time (8 -> 16 -> 32 -> 64), then the document's
    Conv2D(3, 3x3, same, tanh).

    Args:
        latent_dim: int. Size of z. Defaults to 100.
        base_size: int. Side of the first feature map. Defaults to 8.
        base_filters: int. Channels of the first feature map. Defaults to 256.
        upsampling_filters: tuple of int. Channels of each stride-2 block.
            Defaults to (128, 64, 32).
        channels: int. Output channels. Defaults to 3.
        name: str. Defaults to "dcgan_generator".
    """

    def __init__(
        self,
        latent_dim=100,
        base_size=8,
        base_filters=256,
        upsampling_filters=(128, 64, 32),
        channels=3,
        name="dcgan_generator",
        **kwargs,
    ):
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        base_size = check_positive_int(base_size, "base_size")
        base_filters = check_positive_int(base_filters, "base_filters")
        upsampling_filters = as_tuple(upsampling_filters, "upsampling_filters")
        channels = check_positive_int(channels, "channels")
        noise = keras.Input(shape=(latent_dim,), name="noise")
        x = layers.Dense(base_size * base_size * base_filters, use_bias=False, name="project")(
            noise
        )
        x = layers.BatchNormalization(name="project_bn")(x)
        x = layers.LeakyReLU(name="project_lrelu")(x)
        x = layers.Reshape((base_size, base_size, base_filters), name="to_feature_map")(x)
        for index, filters in enumerate(upsampling_filters, start=1):
            x = layers.Conv2DTranspose(
                filters, 5, strides=2, padding="same", use_bias=False, name=f"up{index}"
            )(x)
            x = layers.BatchNormalization(name=f"up{index}_bn")(x)
            x = layers.LeakyReLU(name=f"up{index}_lrelu")(x)
        images = layers.Conv2D(channels, 3, padding="same", activation="tanh", name="to_rgb")(x)
        super().__init__(inputs=noise, outputs=images, name=name, **kwargs)
        size = base_size * 2 ** len(upsampling_filters)
        self.latent_dim = latent_dim
        self.image_shape = (size, size, channels)
        self._remember_config(
            latent_dim=latent_dim,
            base_size=base_size,
            base_filters=base_filters,
            upsampling_filters=upsampling_filters,
            channels=channels,
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class MNISTGenerator(GraphModel):
    """The MNIST tutorial's MNIST generator, with its 56x56-versus-28x28 mismatch fixed.

    The document: Dense(128, relu) -> Dense(784, relu) -> LeakyReLU(0.2) -> Reshape(28, 28, 1) ->
    Conv2DTranspose(1, 5, stride 2, same, tanh), which makes 56x56 images for a 28x28
    discriminator. Here the same 784 units are reshaped to (14, 14, 4), so the same stride-2
    transpose convolution yields 28x28x1. Every layer, width and activation is otherwise the
    document's (the LeakyReLU after a ReLU is an identity on its non-negative input; it is kept for
    fidelity and costs nothing).

    `batch_norm=True` puts BatchNormalization between each Dense layer and its ReLU, the remedy
    the tutorial itself gives for unstable training (its FAQ 9.1: "use batch normalisation in the
    generator and discriminator"). Without it this generator collapses to a single image on the
    offline digits under every loss we tried, and with it D still wins outright (measured figures
    in the README). The `mnist_faithful` preset uses this generator as the tutorial wrote
    it; `mnist_dcgan` uses the blog DCGAN's design instead.

    Args:
        latent_dim: int. Size of z. Defaults to 100.
        hidden_units: int. Width of the first Dense layer. Defaults to 128.
        image_size: int. Side of the square output; must be even. Defaults to 28.
        channels: int. Output channels. Defaults to 1.
        batch_norm: bool. Normalise the Dense layers' outputs. Defaults to False (the
            document's code).
        name: str. Defaults to "mnist_generator".
    """

    def __init__(
        self,
        latent_dim=100,
        hidden_units=128,
        image_size=28,
        channels=1,
        batch_norm=False,
        name="mnist_generator",
        **kwargs,
    ):
        latent_dim = check_positive_int(latent_dim, "latent_dim")
        hidden_units = check_positive_int(hidden_units, "hidden_units")
        image_size = check_positive_int(image_size, "image_size")
        channels = check_positive_int(channels, "channels")
        if image_size % 2:
            raise ValueError(
                "`image_size` must be even (a stride-2 layer doubles the side); "
                f"received {image_size}."
            )
        half = image_size // 2
        # Same number of units as the document's Dense(28*28*1), spread over (14, 14, 4).
        units = image_size * image_size * channels
        depth = units // (half * half)
        noise = keras.Input(shape=(latent_dim,), name="noise")
        x = noise
        for index, width in enumerate((hidden_units, units), start=1):
            if batch_norm:
                x = layers.Dense(width, use_bias=False, name=f"dense{index}")(x)
                x = layers.BatchNormalization(name=f"dense{index}_bn")(x)
                x = layers.ReLU(name=f"dense{index}_relu")(x)
            else:
                x = layers.Dense(width, activation="relu", name=f"dense{index}")(x)
        x = layers.LeakyReLU(negative_slope=0.2, name="lrelu")(x)
        x = layers.Reshape((half, half, depth), name="to_feature_map")(x)
        images = layers.Conv2DTranspose(
            channels, 5, strides=2, padding="same", activation="tanh", name="up"
        )(x)
        super().__init__(inputs=noise, outputs=images, name=name, **kwargs)
        self.latent_dim = latent_dim
        self.image_shape = (image_size, image_size, channels)
        self._remember_config(
            latent_dim=latent_dim,
            hidden_units=hidden_units,
            image_size=image_size,
            channels=channels,
            batch_norm=bool(batch_norm),
        )


# --- image-to-image generators: any height and width the architecture allows ---------------------
#
# Every generator below takes `Input(shape=(None, None, channels))` images in [-1, 1] and returns
# images of the same size in [-1, 1]. Each exposes `size_multiple`: heights and widths must be
# positive multiples of it (2 ** the number of stride-2 layers). An `ImageSizeCheck` layer named
# "check_size" right after the input raises a clear ValueError for other sizes whenever the size is
# known (eager calls, `fit` on fixed-size batches); `check_image_size(generator, height, width)`
# does the same check ahead of time.


def check_image_size(generator, height, width):
    """Raise a clear error unless `height` and `width` are multiples of the generator's stride.

    Args:
        generator: keras.Model. Any model; its `size_multiple` attribute (1 when absent) is used.
        height: int. Image height in pixels.
        width: int. Image width in pixels.

    Raises:
        ValueError: when either side is not a positive multiple of `generator.size_multiple`.
    """
    multiple = getattr(generator, "size_multiple", 1)
    if height % multiple or width % multiple or height < multiple or width < multiple:
        raise ValueError(
            f"{generator.name} takes heights and widths that are multiples of {multiple}; "
            f"received {height}x{width}. Pad or crop the image (stylize() pads for you)."
        )


def _image_input(channels, multiple, name="image"):
    """The generator's image input and the same tensor after the size check."""
    from keras_styletransfer.layers import ImageSizeCheck

    images = keras.Input(shape=(None, None, channels), name=name)
    return images, ImageSizeCheck(multiple, name="check_size")(images)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class EncoderDecoderGenerator(GraphModel):
    """The style-transfer tutorial's encoder/decoder generator, with its decoder fixed to upsample.

    Encoder, as the document: Conv 3x3 stride 2 with 64, 128, 256, 512 filters, each followed by
    LeakyReLU(0.2). The document's "decoder" used stride-2 *convolutions* again, so its output
    was 1/128 of the image's side instead of the image's size. Here the decoder mirrors the
    encoder with stride-2 transposed convolutions (3x3; 256, 128, 64, then `channels`), each
    followed by LeakyReLU(0.2) like the document's layers, and tanh at the end, so the output has
    the input's size. Heights and widths must be multiples of 16 (`size_multiple`).

    The document also squeezed the encoder's 512 channels through a Conv 3x3 to 3 channels with
    tanh, which its decoder expanded back to 512 with a Conv 3x3. That bottleneck is off by
    default (three channels at 1/16 of the side keep little of the image) and on with
    `bottleneck_channels=3`.

    Layer names: `encode{i}` / `encode{i}_lrelu`, optional `bottleneck`, `unbottleneck` /
    `unbottleneck_lrelu`, `decode{i}` / `decode{i}_lrelu`, and `to_image`.

    Args:
        filters: tuple of int. Encoder widths; the decoder uses them in reverse.
            Defaults to (64, 128, 256, 512).
        channels: int. Image channels. Defaults to 3.
        bottleneck_channels: int or None. Width of the document's tanh bottleneck; None leaves
            it out. Defaults to None.
        name: str. Defaults to "encoder_decoder_generator".

    Example:
        >>> generator = EncoderDecoderGenerator()
        >>> generator(keras.random.uniform((1, 64, 96, 3), -1, 1)).shape
        TensorShape([1, 64, 96, 3])
    """

    def __init__(
        self,
        filters=(64, 128, 256, 512),
        channels=3,
        bottleneck_channels=None,
        name="encoder_decoder_generator",
        **kwargs,
    ):
        filters = as_tuple(filters, "filters")
        channels = check_positive_int(channels, "channels")
        if bottleneck_channels is not None:
            bottleneck_channels = check_positive_int(bottleneck_channels, "bottleneck_channels")
        size_multiple = 2 ** len(filters)
        images, x = _image_input(channels, size_multiple)
        for index, width in enumerate(filters, start=1):
            x = layers.Conv2D(width, 3, strides=2, padding="same", name=f"encode{index}")(x)
            x = layers.LeakyReLU(0.2, name=f"encode{index}_lrelu")(x)
        if bottleneck_channels is not None:
            x = layers.Conv2D(
                bottleneck_channels, 3, padding="same", activation="tanh", name="bottleneck"
            )(x)
            x = layers.Conv2D(filters[-1], 3, padding="same", name="unbottleneck")(x)
            x = layers.LeakyReLU(0.2, name="unbottleneck_lrelu")(x)
        for index, width in enumerate(reversed(filters[:-1]), start=1):
            x = layers.Conv2DTranspose(width, 3, strides=2, padding="same", name=f"decode{index}")(
                x
            )
            x = layers.LeakyReLU(0.2, name=f"decode{index}_lrelu")(x)
        outputs = layers.Conv2DTranspose(
            channels, 3, strides=2, padding="same", activation="tanh", name="to_image"
        )(x)
        super().__init__(inputs=images, outputs=outputs, name=name, **kwargs)
        self.size_multiple = size_multiple
        self._remember_config(
            filters=filters, channels=channels, bottleneck_channels=bottleneck_channels
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ResnetGenerator(GraphModel):
    """CycleGAN's ResNet generator (Johnson et al.; Zhu et al.), reflection padding and instance
    norm throughout.

    c7s1-f: ReflectionPad(3), Conv 7x7 (`filters`), instance norm, ReLU; then
    `num_downsamplings` Conv 3x3 stride 2 (doubling the width) + instance norm + ReLU;
    `num_residual_blocks` residual blocks (`keras_styletransfer.layers.residual_block`);
    `num_downsamplings` Conv2DTranspose 3x3 stride 2 (halving the width; or, with
    `upsampling="resize"`, a x2 resize + Conv 3x3, see `layers.upsample`) + instance norm + ReLU;
    ReflectionPad(3), Conv 7x7 to `channels`, tanh. Heights and widths must be multiples of
    2**num_downsamplings (`size_multiple`, 4 by default). With `residual=True` that last
    convolution is a correction added to the input (`layers.add_correction`), its kernel
    starting at zero: the untrained generator returns its input.

    Layer names: `stem_pad`, `stem_conv`, `stem_norm`, `stem_relu`, `down{i}` (+ `_norm`,
    `_relu`), `res{i}_*` (block output `res{i}_add`), `up{i}` (+ `_norm`, `_relu`), `head_pad`,
    `to_image`.

    Args:
        num_residual_blocks: int. 6 (128x128 in the paper) or 9 (256x256). Defaults to 9.
        filters: int. Width of the first layer; doubled per downsampling. Defaults to 64.
        channels: int. Image channels. Defaults to 3.
        num_downsamplings: int. Stride-2 stages; 0 keeps every layer at the image's full
            resolution (instance norm still sees the whole image). Defaults to 2.
        upsampling: str. "transpose" (the paper's) or "resize" (checkerboard-free).
            Defaults to "transpose".
        residual: bool. Output `clip(input + correction, -1, 1)`, the head (`correction`)
            initialised to zero, instead of the head's own image; the output layer is still
            `to_image`. Defaults to False (the paper's).
        operators: bool. Instead, edit the input with `layers.ImageOperators` (blurs,
            greying, darkening, lightening, a smooth colour shift from the deepest features;
            `layers.operator_head`), starting near the identity. Defaults to False.
        name: str. Defaults to "resnet_generator".

    References:
        Johnson et al., "Perceptual Losses for Real-Time Style Transfer and Super-Resolution",
        2016; Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent
        Adversarial Networks", 2017.
    """

    def __init__(
        self,
        num_residual_blocks=9,
        filters=64,
        channels=3,
        num_downsamplings=2,
        upsampling="transpose",
        residual=False,
        operators=False,
        name="resnet_generator",
        **kwargs,
    ):
        from keras_styletransfer.layers import (
            ReflectionPadding2D,
            add_correction,
            check_upsampling,
            instance_norm,
            operator_head,
            residual_block,
            upsample,
        )

        num_residual_blocks = check_positive_int(num_residual_blocks, "num_residual_blocks")
        filters = check_positive_int(filters, "filters")
        channels = check_positive_int(channels, "channels")
        num_downsamplings = check_int(num_downsamplings, "num_downsamplings", low=0)
        upsampling = check_upsampling(upsampling)
        for flag, value in (("residual", residual), ("operators", operators)):
            if not isinstance(value, bool):
                raise ValueError(f"`{flag}` must be True or False; received {value!r}.")
        if residual and operators:
            raise ValueError("choose one head: `residual=True` or `operators=True`, not both.")
        size_multiple = 2**num_downsamplings
        images, x = _image_input(channels, size_multiple)
        checked = x
        x = ReflectionPadding2D(3, name="stem_pad")(x)
        x = layers.Conv2D(filters, 7, use_bias=False, name="stem_conv")(x)
        x = layers.ReLU(name="stem_relu")(instance_norm("stem_norm")(x))
        width = filters
        for index in range(1, num_downsamplings + 1):
            width *= 2
            x = layers.Conv2D(
                width, 3, strides=2, padding="same", use_bias=False, name=f"down{index}"
            )(x)
            x = layers.ReLU(name=f"down{index}_relu")(instance_norm(f"down{index}_norm")(x))
        for index in range(1, num_residual_blocks + 1):
            x = residual_block(x, width, name=f"res{index}")
        coarse = x
        for index in range(1, num_downsamplings + 1):
            width //= 2
            x = upsample(x, width, 3, f"up{index}", upsampling, use_bias=False)
            x = layers.ReLU(name=f"up{index}_relu")(instance_norm(f"up{index}_norm")(x))
        x = ReflectionPadding2D(3, name="head_pad")(x)
        if operators:
            outputs = operator_head(checked, x, coarse)
        elif residual:
            correction = layers.Conv2D(
                channels, 7, activation="tanh", kernel_initializer="zeros", name="correction"
            )(x)
            outputs = add_correction(checked, correction, name="to_image")
        else:
            outputs = layers.Conv2D(channels, 7, activation="tanh", name="to_image")(x)
        super().__init__(inputs=images, outputs=outputs, name=name, **kwargs)
        self.size_multiple = size_multiple
        self._remember_config(
            num_residual_blocks=num_residual_blocks,
            filters=filters,
            channels=channels,
            num_downsamplings=num_downsamplings,
            upsampling=upsampling,
            residual=residual,
            operators=operators,
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class UNetGenerator(GraphModel):
    """pix2pix's U-Net generator.

    Down: `num_downsamplings` blocks of Conv 4x4 stride 2 (widths `filters * 2**i` capped at
    `max_filters`) + BatchNorm (not on the first) + LeakyReLU(0.2). Up: Conv2DTranspose 4x4
    stride 2 + BatchNorm + Dropout (the first three up blocks only) + ReLU, each concatenated
    with the mirror down block; a final Conv2DTranspose 4x4 stride 2 to `channels` with tanh.
    With `upsampling="resize"` every Conv2DTranspose is a x2 resize + Conv 3x3 (`layers.upsample`,
    layers `up{i}_resize` / `to_image_resize`), which draws no checkerboard.
    Heights and widths must be multiples of 2**num_downsamplings (`size_multiple`): 256 for
    the standard `num_downsamplings=8`, whose bottleneck is 1x1 at 256x256.

    Layer names: `down{i}` (+ `_bn`, `_lrelu`), `up{i}` (+ `_bn`, `_dropout`, `_relu`),
    `skip{i}` (the concatenation), `to_image`.

    Args:
        num_downsamplings: int. 8 for unet256, 7 for unet128. Defaults to 8.
        filters: int. Width of the first layer; doubled per level up to `max_filters`.
            Defaults to 64.
        max_filters: int. Defaults to 512.
        dropout: float in [0, 1). Rate on the first three up blocks (the noise source of
            pix2pix); 0 removes the Dropout layers. Defaults to 0.5.
        channels: int. Image channels. Defaults to 3.
        upsampling: str. "transpose" (pix2pix's) or "resize". Defaults to "transpose".
        name: str. Defaults to "unet_generator".

    References:
        Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks", 2017.
    """

    def __init__(
        self,
        num_downsamplings=8,
        filters=64,
        max_filters=512,
        dropout=0.5,
        channels=3,
        upsampling="transpose",
        name="unet_generator",
        **kwargs,
    ):
        from keras_styletransfer.layers import check_upsampling, upsample

        num_downsamplings = check_positive_int(num_downsamplings, "num_downsamplings")
        filters = check_positive_int(filters, "filters")
        max_filters = check_positive_int(max_filters, "max_filters")
        dropout = check_dropout(dropout)
        channels = check_positive_int(channels, "channels")
        upsampling = check_upsampling(upsampling)
        init = keras.initializers.RandomNormal(0.0, 0.02)
        size_multiple = 2**num_downsamplings
        images, x = _image_input(channels, size_multiple)
        widths = [min(filters * 2**i, max_filters) for i in range(num_downsamplings)]
        skips = []
        for index, width in enumerate(widths, start=1):
            x = layers.Conv2D(
                width,
                4,
                strides=2,
                padding="same",
                use_bias=False,
                kernel_initializer=init,
                name=f"down{index}",
            )(x)
            if index > 1:
                x = layers.BatchNormalization(name=f"down{index}_bn")(x)
            x = layers.LeakyReLU(0.2, name=f"down{index}_lrelu")(x)
            skips.append(x)
        for index, (width, skip) in enumerate(
            zip(reversed(widths[:-1]), reversed(skips[:-1]), strict=True), start=1
        ):
            x = upsample(
                x, width, 4, f"up{index}", upsampling, use_bias=False, kernel_initializer=init
            )
            x = layers.BatchNormalization(name=f"up{index}_bn")(x)
            if index <= 3 and dropout:
                x = layers.Dropout(dropout, name=f"up{index}_dropout")(x)
            x = layers.ReLU(name=f"up{index}_relu")(x)
            x = layers.Concatenate(name=f"skip{index}")([x, skip])
        outputs = upsample(
            x, channels, 4, "to_image", upsampling, activation="tanh", kernel_initializer=init
        )
        super().__init__(inputs=images, outputs=outputs, name=name, **kwargs)
        self.size_multiple = size_multiple
        self._remember_config(
            num_downsamplings=num_downsamplings,
            filters=filters,
            max_filters=max_filters,
            dropout=dropout,
            channels=channels,
            upsampling=upsampling,
        )


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StyleGenerator(StyleSlots, GraphModel):
    """One generator for several styles: G(image, style, strength).

    Inputs, as a dict `{"image": ..., "style": ..., "strength": ...}` or a list in that order
    (`model.inputs` is in that order too):
      - `image`: (batch, H, W, channels) in [-1, 1]; H and W multiples of `size_multiple`.
      - `style`: (batch, num_styles) weights: one-hot for one style, a convex mix to blend.
      - `strength`: (batch, 1) in [0, 1].
    Output: (batch, H, W, channels) in [-1, 1].

    The ResNet body (`ResnetGenerator`'s layout) normalises with `StyleConditionedNormalization`
    fed `condition = strength * style` (layer "condition"), so strength 0 is the zero, unstyled
    condition. Its tanh head renders a styled image y (layer "styled"), and the output is

        output = image + strength * (y - image)      (layer "to_image")

    a blend: strength 0 returns the input *exactly*, strength 1 is exactly y, the output is a
    smooth function of strength and style weights, in [-1, 1] for strengths in [0, 1].

    Args:
        num_styles: int. Style slots (the MultiStyleGAN uses its styles plus the content domain).
        filters: int. Width of the first layer. Defaults to 32.
        num_residual_blocks: int. Defaults to 4.
        num_downsamplings: int. Defaults to 2 (`size_multiple` 4).
        channels: int. Image channels. Defaults to 3.
        upsampling: str. "transpose" or "resize" (see `ResnetGenerator`). Defaults to
            "transpose".
        operators: bool. y edits the image with `layers.ImageOperators` (as
            `ResnetGenerator(operators=True)`) instead of the tanh head. Defaults to False.
        name: str. Defaults to "style_generator".

    Example:
        >>> generator = StyleGenerator(num_styles=3)
        >>> generator({"image": keras.random.uniform((1, 32, 32, 3), -1, 1),
        ...            "style": [[0.5, 0.5, 0.0]], "strength": [[0.8]]}).shape
        TensorShape([1, 32, 32, 3])

    References:
        Dumoulin et al., "A Learned Representation for Artistic Style", 2017; Choi et al.,
        "StarGAN", 2018.
    """

    def __init__(
        self,
        num_styles,
        filters=32,
        num_residual_blocks=4,
        num_downsamplings=2,
        channels=3,
        upsampling="transpose",
        operators=False,
        name="style_generator",
        **kwargs,
    ):
        from keras_styletransfer.layers import (
            ReflectionPadding2D,
            StyleConditionedNormalization,
            check_upsampling,
            operator_head,
            residual_block,
            upsample,
        )

        num_styles = check_positive_int(num_styles, "num_styles")
        filters = check_positive_int(filters, "filters")
        num_residual_blocks = check_positive_int(num_residual_blocks, "num_residual_blocks")
        num_downsamplings = check_positive_int(num_downsamplings, "num_downsamplings")
        channels = check_positive_int(channels, "channels")
        upsampling = check_upsampling(upsampling)
        if not isinstance(operators, bool):
            raise ValueError(f"`operators` must be True or False; received {operators!r}.")
        size_multiple = 2**num_downsamplings
        image_input, images = _image_input(channels, size_multiple)
        style = keras.Input(shape=(num_styles,), name="style")
        strength = keras.Input(shape=(1,), name="strength")
        condition = layers.Multiply(name="condition")([style, strength])

        def norm(x, label):
            return StyleConditionedNormalization(num_styles, name=f"{label}_norm")([x, condition])

        x = ReflectionPadding2D(3, name="stem_pad")(images)
        x = layers.Conv2D(filters, 7, use_bias=False, name="stem_conv")(x)
        x = layers.ReLU(name="stem_relu")(norm(x, "stem"))
        width = filters
        for index in range(1, num_downsamplings + 1):
            width *= 2
            x = layers.Conv2D(
                width, 3, strides=2, padding="same", use_bias=False, name=f"down{index}"
            )(x)
            x = layers.ReLU(name=f"down{index}_relu")(norm(x, f"down{index}"))
        for index in range(1, num_residual_blocks + 1):
            x = residual_block(
                x, width, name=f"res{index}", condition=condition, num_styles=num_styles
            )
        coarse = x
        for index in range(1, num_downsamplings + 1):
            width //= 2
            x = upsample(x, width, 3, f"up{index}", upsampling, use_bias=False)
            x = layers.ReLU(name=f"up{index}_relu")(norm(x, f"up{index}"))
        x = ReflectionPadding2D(3, name="head_pad")(x)
        if operators:
            styled = operator_head(images, x, coarse, name="styled")
        else:
            styled = layers.Conv2D(channels, 7, activation="tanh", name="styled")(x)
        outputs = blend_by_strength(images, styled, strength)
        # A list (not a dict, which Keras flattens in sorted-key order) keeps the documented
        # order for list calls; dict calls are matched to the inputs by name.
        super().__init__(
            inputs=[image_input, style, strength], outputs=outputs, name=name, **kwargs
        )
        self.size_multiple = size_multiple
        self._remember_config(
            num_styles=num_styles,
            filters=filters,
            num_residual_blocks=num_residual_blocks,
            num_downsamplings=num_downsamplings,
            channels=channels,
            upsampling=upsampling,
            operators=operators,
        )
