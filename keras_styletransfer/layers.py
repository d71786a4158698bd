"""Layers of the image-to-image networks: instance norm, reflection padding, residual blocks,
style-conditioned normalisation, an image-size check and image-editing operator heads.

Every layer works on images of unknown height and width, so the generators built from them take
any size their strides allow.
"""

from __future__ import annotations

import contextlib

import keras
import tensorflow as tf

from keras_styletransfer.kernels import Conv2DTranspose, portable_active
from keras_styletransfer.replicas import gather_over_replicas, replica_position
from keras_styletransfer.validation import check_int

_PACKAGE = "keras_styletransfer"


def instance_norm(name=None):
    """Instance normalisation with a learned scale and offset per channel.

    Args:
        name: str or None. Layer name. Defaults to None.

    Returns:
        A `GroupNormalization(groups=-1, epsilon=1e-5)` (this module's, see below).
    """
    return GroupNormalization(groups=-1, epsilon=1e-5, name=name)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class GroupNormalization(keras.layers.GroupNormalization):
    """`keras.layers.GroupNormalization` which, with one group per channel (instance norm), runs
    TensorFlow's fused batch-norm kernel.

    Keras 3 has no InstanceNormalization layer and tensorflow_addons is dead; a group norm with
    one group per channel is the same operation. With the images' channels laid side by side
    ((N, H, W, C) -> (1, H, W, N*C)), batch statistics over height and width *are* instance
    statistics, and the fused kernel's forward and backward take 2-2.5x less time than the
    group-norm formula at the generators' shapes (`benchmarks/README.md`, "What made our steps
    faster").
    Inference takes the same kernel (7-8% faster for a ResNet-9 at batch 1); every other
    `groups`, and any model traced inside `portable_ops()` (the TFLite exporter, which knows no
    training-mode fused batch norm), use Keras's own formula. The two agree to float32 rounding.

    The class keeps Keras's name on purpose: `.keras` files store a layer's weights under its
    class's snake-case name, so models saved with `keras.layers.GroupNormalization` load into
    this layer, and the other way round.
    """

    def call(self, inputs, training=None):
        del training  # instance norm: the same computation in training and inference
        portable = portable_active()
        if portable or self.groups != inputs.shape[-1] or self.axis not in (-1, 3):
            return super().call(inputs)
        # Sizes known when tracing stay Python ints: fewer shape ops to trace and optimise.
        known = inputs.shape
        shape = tf.shape(inputs) if None in known else known
        batch, height, width, channels = (known[i] or shape[i] for i in range(4))
        one_image = known[0] == 1  # already side by side: no transposes, no tiling
        side_by_side = (
            inputs
            if one_image
            else tf.reshape(
                tf.transpose(inputs, [1, 2, 0, 3]), [1, height, width, batch * channels]
            )
        )
        if inputs.dtype not in (tf.float16, tf.bfloat16, tf.float32):
            side_by_side = tf.cast(side_by_side, tf.float32)
        scale = tf.cast(self.gamma, tf.float32) if self.scale else tf.ones([channels])
        offset = tf.cast(self.beta, tf.float32) if self.center else tf.zeros([channels])
        normalised, _, _ = tf.compat.v1.nn.fused_batch_norm(
            side_by_side,
            scale if one_image else tf.tile(scale, [batch]),
            offset if one_image else tf.tile(offset, [batch]),
            epsilon=self.epsilon,
            is_training=True,
        )
        # Keras's layer returns its compute dtype (bfloat16 / float16 under mixed precision).
        normalised = tf.cast(normalised, self.compute_dtype)
        if one_image:
            return normalised
        normalised = tf.reshape(normalised, [height, width, batch, channels])
        return tf.transpose(normalised, [2, 0, 1, 3])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ReflectionPadding2D(keras.layers.Layer):
    """Pad height and width by mirroring the border pixels (no zero frame for the next conv).

    Works on images of unknown height and width. As with `tf.pad(mode="REFLECT")`, the padding
    must be smaller than the height and width.

    Args:
        padding: int. Pixels added on every side. Defaults to 1.
    """

    def __init__(self, padding=1, **kwargs):
        super().__init__(**kwargs)
        self.padding = check_int(padding, "padding", low=0)

    def call(self, inputs):
        p = self.padding
        for size in inputs.shape[1:3]:
            if size is not None and size <= p:
                raise ValueError(
                    f"{self.name}: reflection padding of {p} needs height and width > {p}; "
                    f"received a feature map of shape {tuple(inputs.shape)}. Use larger images."
                )
        return tf.pad(inputs, [[0, 0], [p, p], [p, p], [0, 0]], mode="REFLECT")

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        grow = 2 * self.padding
        return (
            batch,
            None if height is None else height + grow,
            None if width is None else width + grow,
            channels,
        )

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ImageSizeCheck(keras.layers.Layer):
    """Pass images through unchanged; raise a clear error when their height or width is not a
    positive multiple of `multiple`.

    A generator with n stride-2 layers silently returns an image of a *different* size for other
    sizes (a ResNet generator maps 18x18 to 20x20), or fails deep inside with a shape mismatch (a
    U-Net's skip connections). The check reads static shapes only: eager calls, and `fit` on
    fixed-size batches. In a graph traced with unknown sizes it does nothing, so it costs nothing
    and compiles under XLA; `keras_styletransfer.serving.inference.stylize` pads for you there.

    Args:
        multiple: int. Required multiple of the height and width.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = check_int(multiple, "multiple", low=1)

    def call(self, inputs):
        height, width = inputs.shape[1:3]
        for size in (height, width):
            if size is not None and (size % self.multiple or size < self.multiple):
                raise ValueError(
                    f"{self.name}: this generator takes heights and widths that are multiples "
                    f"of {self.multiple}; received {height}x{width}. Pad or crop the image "
                    "(keras_styletransfer.serving.inference.stylize pads for you)."
                )
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "multiple": self.multiple}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StyleConditionedNormalization(keras.layers.Layer):
    """Conditional instance normalisation: gamma and beta picked (or mixed) by style weights.

    Called on `[features, condition]`: `features` is (batch, height, width, channels) and
    `condition` is (batch, num_styles) float weights: a one-hot vector selects one style, a convex
    mix blends styles, zeros give the unstyled path. Features are instance-normalised (no affine
    of the layer's own), then scaled by `gamma = 1 + condition @ gamma_table` and shifted by
    `beta = condition @ beta_table`. Both (num_styles, channels) tables start at zero, so an
    untrained layer, and any layer fed a zero condition, is plain instance normalisation.

    Args:
        num_styles: int. Number of style slots.
        epsilon: float. Added to the variance. Defaults to 1e-5.

    References:
        Dumoulin et al., "A Learned Representation for Artistic Style", ICLR 2017.
    """

    def __init__(self, num_styles, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.num_styles = check_int(num_styles, "num_styles", low=1)
        self.epsilon = float(epsilon)
        if not self.epsilon > 0:
            raise ValueError(f"`epsilon` must be > 0; received {epsilon!r}.")

    def build(self, input_shape):
        if not isinstance(input_shape, list | tuple) or len(input_shape) != 2:
            raise ValueError(
                f"{self.name} is called on [features, condition]; received input shapes "
                f"{input_shape!r}."
            )
        features_shape, condition_shape = input_shape
        if condition_shape[-1] is not None and int(condition_shape[-1]) != self.num_styles:
            raise ValueError(
                f"{self.name}: the condition must have num_styles={self.num_styles} weights per "
                f"example; received shape {tuple(condition_shape)}."
            )
        channels = int(features_shape[-1])
        self.gamma_table = self.add_weight(
            shape=(self.num_styles, channels), initializer="zeros", name="gamma_table"
        )
        self.beta_table = self.add_weight(
            shape=(self.num_styles, channels), initializer="zeros", name="beta_table"
        )

    def call(self, inputs):
        features, condition = inputs
        mean, variance = tf.nn.moments(features, axes=[1, 2], keepdims=True)
        normalised = (features - mean) * tf.math.rsqrt(variance + self.epsilon)
        condition = tf.cast(condition, features.dtype)
        gamma = 1.0 + tf.matmul(condition, tf.cast(self.gamma_table, features.dtype))
        beta = tf.matmul(condition, tf.cast(self.beta_table, features.dtype))
        return normalised * gamma[:, None, None, :] + beta[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles, "epsilon": self.epsilon}


def residual_block(x, filters, name, condition=None, num_styles=None):
    """CycleGAN's residual block: pad 1, conv 3x3, norm, ReLU, pad 1, conv 3x3, norm, add.

    Layers are named `{name}_pad1`, `{name}_conv1`, `{name}_norm1`, `{name}_relu`, `{name}_pad2`,
    `{name}_conv2`, `{name}_norm2` and `{name}_add` (the block's output).

    Args:
        x: tensor. (batch, height, width, filters) input.
        filters: int. Channels of both convolutions; must equal the input's channels.
        name: str. Prefix of the layer names.
        condition: tensor or None. (batch, num_styles) style weights; when given, the norms are
            `StyleConditionedNormalization` over `num_styles` slots. Defaults to None (instance
            norm).
        num_styles: int or None. Required with `condition`. Defaults to None.

    Returns:
        The block's output tensor, shaped like `x`.
    """
    if condition is not None and num_styles is None:
        raise ValueError(f"residual_block {name!r}: pass `num_styles` with `condition`.")

    def norm(y, suffix):
        if condition is None:
            return instance_norm(f"{name}_norm{suffix}")(y)
        return StyleConditionedNormalization(num_styles, name=f"{name}_norm{suffix}")(
            [y, condition]
        )

    shortcut = x
    y = ReflectionPadding2D(1, name=f"{name}_pad1")(x)
    y = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"{name}_conv1")(y)
    y = keras.layers.ReLU(name=f"{name}_relu")(norm(y, 1))
    y = ReflectionPadding2D(1, name=f"{name}_pad2")(y)
    y = keras.layers.Conv2D(filters, 3, use_bias=False, name=f"{name}_conv2")(y)
    return keras.layers.Add(name=f"{name}_add")([shortcut, norm(y, 2)])


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ImagePool(keras.layers.Layer):
    """A history of generated images for the discriminator (Shrivastava et al., 2017).

    Until the pool is full every image is stored and returned. Afterwards each image is, with
    probability 1/2, swapped for a random stored image (which is returned and replaced), else
    returned as it is. The stored images and the count are layer variables, so they are saved
    with the model and a resumed run continues with the same history. The images of a batch
    go through in order, but without a per-image loop: one batch of draws from the layer's seed
    stream and a fixed number of ops (gathers, one scatter, one pool assignment), so the step
    compiles with XLA (`jit_compile=True`) and the pool is copied once per step, not per image.

    Under a distribution strategy the pool is one shared history, as on one device: every replica
    gathers the global batch of new images, runs the same draws from the shared seed on it, stores
    the same result, and keeps its own rows of the output. N replicas therefore see exactly the
    images one device would, at every step (the cost is one all-gather of the fakes per step).

    Args:
        pool_size: int. Images kept; 0 turns the pool off. Defaults to 50.
        image_shape: tuple (H, W, C). Size of the stored images.
        seed: int. Defaults to None.
    """

    def __init__(self, pool_size=50, image_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = check_int(pool_size, "pool_size", low=0)
        self.image_shape = tuple(int(d) for d in image_shape) if image_shape else None
        if pool_size and (self.image_shape is None or len(self.image_shape) != 3):
            raise ValueError(
                "An image pool needs the (H, W, C) of the images it stores; received "
                f"image_shape={image_shape!r}. Pass the training crop size."
            )
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="pool_seed")
        if pool_size:
            self.images = self.add_weight(
                shape=(pool_size, *self.image_shape),
                initializer="zeros",
                trainable=False,
                name="images",
            )
            self.count = self.add_weight(
                shape=(), initializer="zeros", dtype="int32", trainable=False, name="count"
            )
        self.built = True

    def call(self, images):
        if not self.pool_size:
            return images
        images = tf.cast(images, self.images.dtype)
        local_batch_size = tf.shape(images)[0]
        replica_id, replicas = replica_position()
        images = gather_over_replicas(images)
        batch_size = tf.shape(images)[0]
        swap = keras.random.uniform((batch_size,), seed=self.seed_generator) > 0.5
        slots = keras.random.randint((batch_size,), 0, self.pool_size, seed=self.seed_generator)
        outputs, pool, count = self._draw(images, swap, slots)
        self.images.assign(pool)
        self.count.assign(count)
        if replicas == 1:
            return outputs
        start = replica_id * local_batch_size
        return outputs[start : start + local_batch_size]

    # Straight-line tensor code: AutoGraph has nothing to convert here (and its converted-code
    # cache once handed back another layer's `call` for it, late in a long test session).
    @tf.autograph.experimental.do_not_convert
    def _draw(self, images, swap, slots):
        """The images in order through the pool, without a loop (so XLA compiles it).

        Image i (in batch order) is stored in slot `count + i` while the pool is filling;
        afterwards, when it swaps, it takes slot `slots[i]`, returns what that slot holds at
        that moment (the pool's image, or an earlier image of this batch written there) and is
        written there itself. One batch of draws, a B x B comparison of the written slots and
        one gather and scatter give exactly what the image-by-image loop gives.
        """
        pool = tf.convert_to_tensor(self.images)
        count = tf.convert_to_tensor(self.count)
        batch_size = tf.shape(images)[0]
        order = tf.range(batch_size)
        filling = count + order < self.pool_size
        slot = tf.where(filling, count + order, slots)
        writes = tf.logical_or(filling, swap)
        returns_stored = tf.logical_and(swap, tf.logical_not(filling))
        # same[i, j]: image j writes the slot that image i uses.
        same = tf.logical_and(tf.equal(slot[:, tf.newaxis], slot[tf.newaxis, :]), writes)
        earlier = order[tf.newaxis, :] < order[:, tf.newaxis]
        # The last writer of each image's slot before it (-1: none), and the last writer of all.
        before = tf.reduce_max(tf.where(tf.logical_and(same, earlier), order, -1), axis=1)
        last = tf.reduce_max(tf.where(same, order, -1), axis=1)
        stored = tf.gather(pool, slot)
        held = tf.where(
            (before >= 0)[:, tf.newaxis, tf.newaxis, tf.newaxis],
            tf.gather(images, tf.maximum(before, 0)),
            stored,
        )
        outputs = tf.where(returns_stored[:, tf.newaxis, tf.newaxis, tf.newaxis], held, images)
        # Every row targeting one slot carries that slot's final content, so the scatter gives
        # the same result whatever order it applies duplicates in.
        final = tf.where(
            (last >= 0)[:, tf.newaxis, tf.newaxis, tf.newaxis],
            tf.gather(images, tf.maximum(last, 0)),
            stored,
        )
        pool = tf.tensor_scatter_nd_update(pool, slot[:, tf.newaxis], final)
        count = tf.minimum(count + batch_size, self.pool_size)
        return outputs, pool, count

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "image_shape": self.image_shape,
            "seed": self.seed,
        }


# --- the one layer-call hook ------------------------------------------------------------------


@contextlib.contextmanager
def wrap_layer_call(layer, wrapper):
    """While active, calling `layer` runs `wrapper(original_call, *args, **kwargs)` instead.

    The instance's `call` is replaced (and restored on exit, also after an error), so the hook
    reaches the layer wherever it sits: functional, subclassed, nested or multi-input models, in
    eager calls and in `tf.function`s traced while it is active. Explainers use it to read a
    layer's output on the gradient tape and to edit it (unit knobs, directions).

    Args:
        layer: keras.layers.Layer.
        wrapper: callable `(original_call, *args, **kwargs) -> output`.

    Yields:
        The layer.
    """
    original = layer.call

    def hooked_call(*args, **kwargs):
        return wrapper(original, *args, **kwargs)

    object.__setattr__(layer, "call", hooked_call)
    try:
        yield layer
    finally:
        object.__delattr__(layer, "call")


# --- upsampling and conditional batch normalisation (appended) ----------------------------------

UPSAMPLING_MODES = ("transpose", "resize")
# The interpolation of "resize" upsampling. Part of every saved "resize" model's graph: fixed.
RESIZE_INTERPOLATION = "nearest"


def check_upsampling(upsampling):
    """`upsampling` if it is one of `UPSAMPLING_MODES`, else a clear ValueError."""
    if upsampling not in UPSAMPLING_MODES:
        raise ValueError(
            f"`upsampling` must be one of {', '.join(map(repr, UPSAMPLING_MODES))}; received "
            f"{upsampling!r}."
        )
    return upsampling


def upsample(x, filters, kernel_size, name, upsampling="transpose", **conv_kwargs):
    """Double the height and width of `x` and convolve it to `filters` channels.

    - "transpose": one `Conv2DTranspose(filters, kernel_size, strides=2, padding="same")`, the
      layer named `name` (the generators' historical layout).
    - "resize": `UpSampling2D(2, RESIZE_INTERPOLATION)` (layer `{name}_resize`), then
      `Conv2D(filters, 3, padding="same")` named `name`. Every output pixel is made by the same
      kernel from evenly spread inputs, so the layer cannot draw the period-2 checkerboard a
      strided transposed convolution draws when its kernels differ between the four output
      phases (Odena et al., "Deconvolution and Checkerboard Artifacts", Distill 2016).

    Args:
        x: tensor. (batch, height, width, channels).
        filters: int. Output channels.
        kernel_size: int. Kernel of the transposed convolution (the resize path uses 3x3).
        name: str. Name of the convolution.
        upsampling: str. "transpose" or "resize". Defaults to "transpose".
        **conv_kwargs: passed to the convolution (`use_bias`, `activation`, initializers).

    Returns:
        The (batch, 2 * height, 2 * width, filters) tensor.
    """
    if check_upsampling(upsampling) == "transpose":
        return Conv2DTranspose(
            filters, kernel_size, strides=2, padding="same", name=name, **conv_kwargs
        )(x)
    x = keras.layers.UpSampling2D(2, interpolation=RESIZE_INTERPOLATION, name=f"{name}_resize")(x)
    return keras.layers.Conv2D(filters, 3, padding="same", name=name, **conv_kwargs)(x)


def add_correction(images, correction, name="styled"):
    """`clip(images + correction, -1, 1)`: the output of a residual image head.

    A generator whose last convolution (the `correction`, tanh, kernel initialised to zero)
    is added to its input starts as the identity, and training learns only what to change:
    restoration, where the target is the input plus a correction, and unpaired translation on
    a CPU budget, where the untrained generator then returns the photo instead of noise.
    Layers: `photo_plus_correction` (Add), `shift_up`, `clip` (ReLU capped at 2) and `name`.

    Args:
        images: tensor. (batch, height, width, channels) in [-1, 1].
        correction: tensor of the same shape.
        name: str. Name of the last layer, the image. Defaults to "styled".

    Returns:
        The tensor of `images`' shape, in [-1, 1].
    """
    x = keras.layers.Add(name="photo_plus_correction")([images, correction])
    x = keras.layers.Rescaling(1.0, offset=1.0, name="shift_up")(x)
    x = keras.layers.ReLU(max_value=2.0, name="clip")(x)
    return keras.layers.Rescaling(1.0, offset=-1.0, name=name)(x)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StyleAffine(keras.layers.Layer):
    """The style half of conditional batch normalisation: a scale and shift chosen by style.

    Called on `[features, condition]` right after a `BatchNormalization(center=False,
    scale=False)`: `features` (batch, height, width, channels), `condition` (batch, num_styles)
    weights (one-hot picks a style, a convex mix blends them, zeros give the unstyled path).
    Returns `features * (1 + condition @ gamma_table) + condition @ beta_table`, both tables
    (num_styles, channels) and zero at the start, so an untrained layer is the identity.

    Unlike `StyleConditionedNormalization` (instance statistics), the statistics stay in the batch
    norm before it: moving averages at inference, which do not depend on the image's size, so a
    model trained on crops renders whole photos and tiles alike.

    Args:
        num_styles: int. Number of style slots.

    References:
        de Vries et al., "Modulating early visual processing by language", 2017 (conditional
        batch norm); Dumoulin et al., "A Learned Representation for Artistic Style", 2017.
    """

    def __init__(self, num_styles, **kwargs):
        super().__init__(**kwargs)
        self.num_styles = check_int(num_styles, "num_styles", low=1)

    def build(self, input_shape):
        if not isinstance(input_shape, list | tuple) or len(input_shape) != 2:
            raise ValueError(
                f"{self.name} is called on [features, condition]; received input shapes "
                f"{input_shape!r}."
            )
        features_shape, condition_shape = input_shape
        if condition_shape[-1] is not None and int(condition_shape[-1]) != self.num_styles:
            raise ValueError(
                f"{self.name}: the condition must have num_styles={self.num_styles} weights per "
                f"example; received shape {tuple(condition_shape)}."
            )
        channels = int(features_shape[-1])
        self.gamma_table = self.add_weight(
            shape=(self.num_styles, channels), initializer="zeros", name="gamma_table"
        )
        self.beta_table = self.add_weight(
            shape=(self.num_styles, channels), initializer="zeros", name="beta_table"
        )

    def call(self, inputs):
        features, condition = inputs
        condition = tf.cast(condition, features.dtype)
        gamma = 1.0 + tf.matmul(condition, tf.cast(self.gamma_table, features.dtype))
        beta = tf.matmul(condition, tf.cast(self.beta_table, features.dtype))
        return features * gamma[:, None, None, :] + beta[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_styles": self.num_styles}


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ImageOperators(keras.layers.Layer):
    """Edits an image with a few per-pixel operators instead of painting new pixels.

    Called on `[images, maps, shift]`: `images` (batch, height, width, channels) in [-1, 1];
    `maps` of the same height and width with `len(sigmas) + 4` channels of logits; `shift`
    (`channels`, any coarser size, resized bilinearly to the image's) a colour shift in
    [-1, 1]. In [0, 1] units, with `w` the softmax of the first `len(sigmas) + 1` maps and `a`,
    `d`, `l` the sigmoids of the next three:

        base = w_0 * image + sum_k w_k * gaussian_blur(image, sigmas[k]) + shift / 2
        base = base + a * (luminance(base) - base)       # desaturate
        base = base * (1 - d)                            # darken (lines)
        out  = 1 - (1 - base) * (1 - l)                  # lighten (paper)

    clipped to [0, 1] and mapped back to [-1, 1]. Each output pixel is the photo where it
    stood, smoothed, greyed, darkened or lightened, plus the coarse shift: the maps may mark
    any pixel, but no hue appears that the photo and the coarse shift do not hold.

    Args:
        sigmas: tuple of float. Standard deviations in pixels of the blurs offered.
            Defaults to (1, 2, 4).
    """

    def __init__(self, sigmas=(1.0, 2.0, 4.0), **kwargs):
        super().__init__(**kwargs)
        self.sigmas = tuple(float(s) for s in sigmas)
        if not self.sigmas or min(self.sigmas) <= 0:
            raise ValueError(f"`sigmas` must be positive numbers; received {sigmas!r}.")
        self.num_maps = len(self.sigmas) + 4

    def _blur(self, images, sigma):
        radius = max(1, round(3 * sigma))
        offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
        kernel = tf.exp(-0.5 * tf.square(offsets / sigma))
        kernel /= tf.reduce_sum(kernel)
        channels = int(images.shape[-1])
        padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], "SYMMETRIC")
        rows = tf.tile(tf.reshape(kernel, [-1, 1, 1, 1]), [1, 1, channels, 1])
        cols = tf.tile(tf.reshape(kernel, [1, -1, 1, 1]), [1, 1, channels, 1])
        blurred = tf.nn.depthwise_conv2d(padded, rows, [1, 1, 1, 1], "VALID")
        return tf.nn.depthwise_conv2d(blurred, cols, [1, 1, 1, 1], "VALID")

    def call(self, inputs):
        images, maps, shift = (tf.cast(t, tf.float32) for t in inputs)
        photo = (images + 1.0) / 2.0
        count = len(self.sigmas) + 1
        weights = tf.nn.softmax(maps[..., :count], axis=-1)
        base = weights[..., :1] * photo
        for index, sigma in enumerate(self.sigmas, start=1):
            base += weights[..., index : index + 1] * self._blur(photo, sigma)
        base += tf.image.resize(shift, tf.shape(images)[1:3]) / 2.0
        grey, dark, light = tf.split(tf.sigmoid(maps[..., count : count + 3]), 3, axis=-1)
        if int(images.shape[-1]) == 3:
            luminance = tf.reduce_sum(base * [0.299, 0.587, 0.114], axis=-1, keepdims=True)
            base += grey * (luminance - base)
        base *= 1.0 - dark
        base = 1.0 - (1.0 - base) * (1.0 - light)
        return tf.clip_by_value(base, 0.0, 1.0) * 2.0 - 1.0

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "sigmas": list(self.sigmas)}


def operator_head(images, features, coarse_features, name="to_image"):
    """`ImageOperators` on `images`, driven by a generator's last `features` (full size,
    reflection-padded by 3 for the maps' 7 x 7 kernel) and a smooth colour shift from its
    `coarse_features` (any coarser size).

    Starts as (nearly) the identity: the maps' kernel is zero, their biases give the unblurred
    image a weight of 0.99 and each other operator 0.25%, and the shift starts at zero.
    Layers: `operator_maps`, `colour_shift` and `name`.
    """
    operators = ImageOperators(name=name)
    channels = int(images.shape[-1])
    biases = [6.0] + [0.0] * len(operators.sigmas) + [-6.0, -6.0, -6.0]
    maps = keras.layers.Conv2D(
        operators.num_maps,
        7,
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(biases),
        name="operator_maps",
    )(features)
    shift = keras.layers.Conv2D(
        channels,
        3,
        padding="same",
        activation="tanh",
        kernel_initializer="zeros",
        name="colour_shift",
    )(coarse_features)
    return operators([images, maps, shift])
