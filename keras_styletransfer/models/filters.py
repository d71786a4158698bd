"""A generator that learns a photo filter: a dozen global settings, optionally per pixel.

The unpaired generators elsewhere (`ResnetGenerator`, its `residual` and `operators` heads) have
hundreds of thousands of weights that the discriminator's gradient must move together; on a CPU
budget they drift (speckle, casts, faint detail inked black) before they find a style. Many of
the styles users bring are filters: smoothing that keeps edges, dark outlines, less colour, a
colour grade, paper showing through. `FilterGenerator` is such a filter with its settings
learned: edge-preserving smoothing (a self-guided filter, He et al. 2013, at two radii),
outlines (darkening by the smoothed image's Sobel gradient magnitude, the rule of OpenCV's
`stylization`), a pencil shading (grey, darker where the photo's edges are dense: a smooth
stand-in for OpenCV's `pencilSketch`), greying, lightening and a per-channel colour grade,
each a global setting that
a small full-resolution network may optionally raise or lower per pixel (off by default: on
watercolour it brought back the texture inking, benchmarks/README.md). The idea of a
generator made of differentiable photo operators trained adversarially from unpaired examples
is that of "Exposure" (Hu et al., 2018) and of the white-box cartoon representations (Wang
and Yu, 2020), which put a guided filter in the generator.

Under Adam a weight moves by about the learning rate a step, so a setting stored as itself
would take thousands of steps to travel one unit. Each global setting is therefore used as
`setting_rate * weight`: the same Adam moves it `setting_rate` times faster than the network's
weights (measured here: a rate of 100 at the generators' learning rate of 2e-4 lets the
watercolour outlines come on within a few hundred steps).

It cannot paint: no hue appears that the photo and the grade do not make, and no stroke that
the photo's own edges do not place. What it learns is readable (`PhotoFilter.settings`).
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers

from keras_styletransfer.models.base import GraphModel, StyleSlots, blend_by_strength
from keras_styletransfer.validation import check_int, check_positive_number

_PACKAGE = "keras_styletransfer"

# The per-pixel maps, in the order of `PhotoFilter`'s `offsets` input.
MAP_NAMES = ("keep", "smooth_small", "smooth_large", "grey", "ink", "light")
# Where the global settings start: the photo nearly unchanged (weight 0.995 on it, each other
# operator at about 0.25%), a guided filter's eps of 0.01 (edges of ~0.1 in [0, 1] kept).
_START = {
    "mix": (6.0, 0.0, 0.0),
    "log_eps": math.log(0.01),
    "grey": -6.0,
    "ink": -6.0,
    "light": -6.0,
    "sketch": -6.0,
    # OpenCV's `pencilSketch` defaults (sigma_s 60, sigma_r 0.07, shade factor 0.02) in
    # `pencil_shading`'s terms: edge_scale = sigma_s / sigma_r, shade = shade factor x the
    # window of its first pass (2 sqrt(3) x 52.4 pixels).
    "log_shade": math.log(0.02 * 2 * math.sqrt(3) * 60 * math.sqrt(3) * 4 / math.sqrt(63)),
    "log_edge_scale": math.log(60 / 0.07),
}


def box_mean(images, radius):
    """The mean over a (2 radius + 1)^2 window, counting only the pixels inside the image."""
    return tf.nn.avg_pool2d(images, 2 * radius + 1, 1, "SAME")


def guided_smoothing(images, radius, eps):
    """A self-guided filter (He et al., 2013) per channel: flat where the local variance is
    below `eps`, the image itself where it is well above (edges are kept)."""
    mean = box_mean(images, radius)
    variance = tf.maximum(box_mean(images * images, radius) - mean * mean, 0.0)
    gain = variance / (variance + eps)
    return box_mean(gain, radius) * images + box_mean(mean - gain * mean, radius)


def edge_magnitude(images):
    """The 3x3 Sobel gradient magnitude summed over channels, `(batch, h, w, 1)`, at OpenCV's
    `Sobel(ksize=3)` scale (a unit step gives 4; `stylization` darkens by 1 x it). Borders
    are mirrored with the edge pixel repeated, so any size works, one pixel included."""
    channels = int(images.shape[-1])
    smooth, slope = tf.constant([1.0, 2.0, 1.0]), tf.constant([-1.0, 0.0, 1.0])
    across = tf.tile(
        tf.reshape(smooth[:, None] * slope[None, :], [3, 3, 1, 1]), [1, 1, channels, 1]
    )
    down = tf.transpose(across, [1, 0, 2, 3])
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], "SYMMETRIC")
    kernels = tf.concat([across, down], axis=-1)  # (3, 3, channels, 2): d/dx, d/dy per channel
    gradients = tf.nn.depthwise_conv2d(padded, kernels, [1, 1, 1, 1], "VALID")
    gradients = tf.reshape(gradients, tf.concat([tf.shape(images), [2]], 0))
    magnitude = tf.sqrt(tf.reduce_sum(tf.square(gradients), -1) + 1e-12)
    return tf.reduce_sum(magnitude, -1, keepdims=True)


def pencil_shading(images, shade, edge_scale, radius=1):
    """A grey pencil shading `(batch, h, w, 1)` in [0, 1]: white where the image is flat, darker
    where its edges are dense.

    OpenCV's `pencilSketch` counts, along each row and each column, the pixels within a fixed
    distance of the domain transform (one unit a pixel plus `sigma_s / sigma_r` times the L1
    colour step): few where steps are dense, so those pixels turn dark. Here the count is
    estimated from the mean step over a (2 radius + 1)^2 window, `1 / (1 + edge_scale *
    mean_step)`, and the shading is `shade` times its sum over the two directions, clipped.
    Forward differences (0 at the first row and column); any size.
    """
    across = tf.reduce_sum(tf.abs(images[:, :, 1:] - images[:, :, :-1]), -1, keepdims=True)
    down = tf.reduce_sum(tf.abs(images[:, 1:] - images[:, :-1]), -1, keepdims=True)
    across = tf.pad(across, [[0, 0], [0, 0], [1, 0], [0, 0]])
    down = tf.pad(down, [[0, 0], [1, 0], [0, 0], [0, 0]])
    count = 1.0 / (1.0 + edge_scale * box_mean(across, radius))
    count += 1.0 / (1.0 + edge_scale * box_mean(down, radius))
    return tf.clip_by_value(shade * count, 0.0, 1.0)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class PhotoFilter(layers.Layer):
    """A differentiable photo filter with learned global settings, called on `[images, offsets]`.

    `images` (batch, height, width, 3) in [-1, 1]; `offsets` (same height and width,
    `len(MAP_NAMES)` channels) are added to the global settings' logits pixel by pixel (zeros:
    the global filter alone). In [0, 1] units, with `w` the softmax of keep / smooth_small /
    smooth_large and `g`, `p`, `k`, `l` the sigmoid, sigmoid, softplus and sigmoid of grey /
    sketch / ink / light:

        base = w_0 * photo + w_1 * guided(photo, radii[0]) + w_2 * guided(photo, radii[1])
        base = base + g * (luminance(base) - base)           # less colour
        base = base + p * (pencil_shading(photo) - base)     # pencil (with `sketch`)
        base = base * (1 - k * edge_magnitude(base))          # outlines
        base = base * exp(gain) + bias                        # colour grade, per channel
        out  = 1 - (1 - base) * (1 - l)                       # paper

    clipped to [0, 1] and mapped back to [-1, 1]. The guided filters share one learned eps;
    the pencil shading learns its `shade` and `edge_scale` (starting at OpenCV's
    `pencilSketch` defaults) and is a global setting only (no per-pixel offset).

    With `slots` > 1 the layer holds one row of settings per style slot and is called on
    `[images, offsets, style]`, `style` (batch, slots) weights: each image's settings are its
    style weights' mix of the rows' logits (a one-hot picks a row; a blend mixes the filters).

    Args:
        radii: pair of int. Window radii in pixels of the two smoothings. Defaults to (2, 6).
        setting_rate: float. The global settings are `setting_rate * weight`, so Adam moves
            them `setting_rate` times faster than other weights. Defaults to 100.
        slots: int. Rows of settings (style slots). Defaults to 1.
        sketch: bool. Include the pencil shading. Defaults to False.
    """

    def __init__(self, radii=(2, 6), setting_rate=100.0, slots=1, sketch=False, **kwargs):
        super().__init__(**kwargs)
        radii = tuple(radii)
        if len(radii) != 2:
            raise ValueError(f"`radii` must be two window radii in pixels; received {radii!r}.")
        self.radii = tuple(check_int(r, "radii", low=1) for r in radii)
        self.setting_rate = check_positive_number(setting_rate, "setting_rate")
        self.slots = check_int(slots, "slots", low=1)
        self.sketch = bool(sketch)

    def build(self, input_shape):
        rate = self.setting_rate

        def setting(name, start, width=1):
            start = tf.constant(start, tf.float32) * tf.ones([self.slots, width]) / rate
            return self.add_weight(
                name=name,
                shape=(self.slots, width),
                initializer=keras.initializers.Constant(start.numpy()),
            )

        self.mix = setting("mix", _START["mix"], 3)
        self.log_eps = setting("log_eps", _START["log_eps"])
        self.grey = setting("grey", _START["grey"])
        self.ink = setting("ink", _START["ink"])
        self.light = setting("light", _START["light"])
        self.gain = setting("gain", (0.0, 0.0, 0.0), 3)
        self.bias = setting("bias", (0.0, 0.0, 0.0), 3)
        if self.sketch:
            self.sketch_mix = setting("sketch", _START["sketch"])
            self.log_shade = setting("log_shade", _START["log_shade"])
            self.log_edge_scale = setting("log_edge_scale", _START["log_edge_scale"])

    def _row(self, weight, style):
        """A setting's logits for each image, `(batch, 1, 1, width)`: its slots' rows mixed by
        the style weights (one slot: its only row)."""
        values = self.setting_rate * tf.matmul(style, weight)
        return values[:, None, None, :]

    def settings(self, slot=0):
        """The global settings of one style slot in their own units, as floats: `keep`,
        `smooth_small`, `smooth_large` (weights summing to 1), `eps`, `grey`, `ink`, `light`,
        `gain` and `bias` (lists per channel, gain as a factor)."""
        rate = self.setting_rate

        def row(weight):
            return rate * weight[slot]

        mix = tf.nn.softmax(row(self.mix)).numpy()
        found = {
            "keep": float(mix[0]),
            "smooth_small": float(mix[1]),
            "smooth_large": float(mix[2]),
            "eps": float(tf.exp(row(self.log_eps))[0]),
            "grey": float(tf.sigmoid(row(self.grey))[0]),
            "ink": float(tf.nn.softplus(row(self.ink))[0]),
            "light": float(tf.sigmoid(row(self.light))[0]),
            "gain": [float(v) for v in tf.exp(row(self.gain)).numpy()],
            "bias": [float(v) for v in row(self.bias).numpy()],
        }
        if self.sketch:
            found["sketch"] = float(tf.sigmoid(row(self.sketch_mix))[0])
            found["shade"] = float(tf.exp(row(self.log_shade))[0])
            found["edge_scale"] = float(tf.exp(row(self.log_edge_scale))[0])
        return found

    def call(self, inputs):
        images, offsets = (tf.cast(t, tf.float32) for t in inputs[:2])
        if len(inputs) > 2:
            style = tf.cast(inputs[2], tf.float32)
        else:
            style = tf.ones([tf.shape(images)[0], self.slots]) / self.slots
        photo = (images + 1.0) / 2.0
        eps = tf.exp(self._row(self.log_eps, style))
        weights = tf.nn.softmax(self._row(self.mix, style) + offsets[..., :3], axis=-1)
        base = weights[..., :1] * photo
        for index, radius in enumerate(self.radii, start=1):
            smooth = guided_smoothing(photo, radius, eps)
            base += weights[..., index : index + 1] * smooth
        grey = tf.sigmoid(self._row(self.grey, style) + offsets[..., 3:4])
        luminance = tf.reduce_sum(base * [0.299, 0.587, 0.114], axis=-1, keepdims=True)
        base += grey * (luminance - base)
        if self.sketch:
            pencil = pencil_shading(
                photo,
                tf.exp(self._row(self.log_shade, style)),
                tf.exp(self._row(self.log_edge_scale, style)),
            )
            base += tf.sigmoid(self._row(self.sketch_mix, style)) * (pencil - base)
        ink = tf.nn.softplus(self._row(self.ink, style) + offsets[..., 4:5])
        base *= tf.clip_by_value(1.0 - ink * edge_magnitude(base), 0.0, 1.0)
        base = base * tf.exp(self._row(self.gain, style)) + self._row(self.bias, style)
        light = tf.sigmoid(self._row(self.light, style) + offsets[..., 5:6])
        base = 1.0 - (1.0 - base) * (1.0 - light)
        return tf.clip_by_value(base, 0.0, 1.0) * 2.0 - 1.0

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {
            **super().get_config(),
            "radii": list(self.radii),
            "setting_rate": self.setting_rate,
            "slots": self.slots,
            "sketch": self.sketch,
        }


@keras.saving.register_keras_serializable(package=_PACKAGE)
class FilterGenerator(GraphModel):
    """An image-to-image generator that is a learned photo filter (`PhotoFilter`).

    The image passes through `photo` (the input, unchanged: a layer to read features at);
    with `filters` > 0, `num_layers` 3x3 convolutions (`features{i}`, ReLU) at full resolution,
    every other one dilated by 2, and a 1x1 convolution `filter_maps` that starts at zero give
    each pixel offsets to the global settings; then `to_image` (the `PhotoFilter`). The
    untrained generator returns the photo to within about 1% of the range. Any height and
    width (no size multiple); 3 channels.

    Args:
        filters: int. Width of the per-pixel network; 0 (the default) for the global filter
            alone, which scored far better on watercolour (benchmarks/README.md).
        num_layers: int. Its 3x3 convolutions. Defaults to 3.
        radii, setting_rate: as `PhotoFilter`. Default to (2, 6) and 100.
        sketch: bool. Include `PhotoFilter`'s pencil shading. Defaults to False: measured
            (benchmarks/README.md), it did not teach the pencil style and on watercolour it
            took the outlines' place (dark texture instead of dark edges; 54% -> -8%).
        name: str. Defaults to "filter_generator".
    """

    def __init__(
        self,
        filters=0,
        num_layers=3,
        radii=(2, 6),
        setting_rate=100.0,
        sketch=False,
        name="filter_generator",
        **kwargs,
    ):
        filters = check_int(filters, "filters", low=0)
        num_layers = check_int(num_layers, "num_layers", low=1)
        to_image = PhotoFilter(
            radii=radii, setting_rate=setting_rate, sketch=sketch, name="to_image"
        )
        images = keras.Input(shape=(None, None, 3), name="image")
        photo = layers.Identity(name="photo")(images)
        x = photo
        if filters:
            for index in range(1, num_layers + 1):
                x = layers.Conv2D(
                    filters,
                    3,
                    padding="same",
                    dilation_rate=1 if index % 2 else 2,
                    activation="relu",
                    name=f"features{index}",
                )(x)
            offsets = layers.Conv2D(
                len(MAP_NAMES), 1, kernel_initializer="zeros", name="filter_maps"
            )(x)
        else:  # the global filter alone: offsets fixed at zero
            offsets = layers.Conv2D(
                len(MAP_NAMES), 1, kernel_initializer="zeros", trainable=False, name="filter_maps"
            )(x)
        outputs = to_image([photo, offsets])
        super().__init__(inputs=images, outputs=outputs, name=name, **kwargs)
        self._remember_config(
            filters=filters,
            num_layers=num_layers,
            radii=list(to_image.radii),
            setting_rate=to_image.setting_rate,
            sketch=to_image.sketch,
        )

    def filter_settings(self):
        """The learned global settings (`PhotoFilter.settings`)."""
        return self.get_layer("to_image").settings()

    @property
    def nce_layers(self):
        """The layers CUT's PatchNCE compares by default: the photo and the per-pixel
        network's layers."""
        count = self._constructor_arguments["num_layers"]
        if not self._constructor_arguments["filters"]:
            return ("photo",)
        return ("photo", *(f"features{i}" for i in range(1, count + 1)))


@keras.saving.register_keras_serializable(package=_PACKAGE)
class StyleFilterGenerator(StyleSlots, GraphModel):
    """One learned photo filter per style: G(image, style, strength) for `MultiStyleGAN`.

    Inputs as `StyleGenerator`'s: a dict `{"image", "style", "strength"}` (or a list in that
    order); `style` (batch, num_styles) weights, `strength` (batch, 1) in [0, 1]. A
    `PhotoFilter` with a row of settings per style slot (layer "styled") renders the image
    with the style weights' mix of the rows, and the output is
    `image + strength * (styled - image)` (layers "change" ... "to_image", as
    `StyleGenerator`'s): strength 0 returns the input exactly. Every row starts as the
    photo, nearly unchanged. Any height and width; 3 channels. The layer "photo" is the
    image, "filter_maps" the (zero) per-pixel offsets.

    Args:
        num_styles: int. Style slots (a MultiStyleGAN's styles plus the content domain).
        radii, setting_rate: as `PhotoFilter`. Default to (2, 6) and 100.
        sketch: bool. Include `PhotoFilter`'s pencil shading. Defaults to False: measured
            (benchmarks/README.md), it did not teach the pencil style and on watercolour it
            took the outlines' place (dark texture instead of dark edges; 54% -> -8%).
        name: str. Defaults to "style_filter_generator".
    """

    def __init__(
        self,
        num_styles,
        radii=(2, 6),
        setting_rate=100.0,
        sketch=False,
        name="style_filter_generator",
        **kwargs,
    ):
        num_styles = check_int(num_styles, "num_styles", low=1)
        styled = PhotoFilter(
            radii=radii, setting_rate=setting_rate, slots=num_styles, sketch=sketch, name="styled"
        )
        images = keras.Input(shape=(None, None, 3), name="image")
        style = keras.Input(shape=(num_styles,), name="style")
        strength = keras.Input(shape=(1,), name="strength")
        photo = layers.Identity(name="photo")(images)
        offsets = layers.Conv2D(
            len(MAP_NAMES), 1, kernel_initializer="zeros", trainable=False, name="filter_maps"
        )(photo)
        outputs = blend_by_strength(photo, styled([photo, offsets, style]), strength)
        super().__init__(inputs=[images, style, strength], outputs=outputs, name=name, **kwargs)
        self._remember_config(
            num_styles=num_styles,
            radii=list(styled.radii),
            setting_rate=styled.setting_rate,
            sketch=styled.sketch,
        )

    def filter_settings(self, slot):
        """The learned settings of style slot `slot` (`PhotoFilter.settings`)."""
        return self.get_layer("styled").settings(slot)
