"""Faster TensorFlow formulations of standard Keras layers, and the switch that turns them off.

`portable_ops()` makes every layer here (and `layers.GroupNormalization`) trace Keras's own
formula instead, for exporters whose op set lacks the fast kernels (TFLite's built-ins).

`Conv2DTranspose` is Keras's layer with one change: on small inputs (few pixels, as at a U-Net's
inner levels) it computes the transposed convolution as a single matrix product followed by a
scatter of the taps, instead of TensorFlow's `conv2d_transpose` kernel, which on a CPU reads its
weights at a few GB/s there (`benchmarks/README.md`, "Transposed convolutions on small inputs").
"""

from __future__ import annotations

import contextlib
import threading

import keras
import tensorflow as tf

_PACKAGE = "keras_styletransfer"
_PORTABLE = threading.local()

# Above this many input pixels (batch x height x width) TensorFlow's own kernel is as fast or
# faster, forward and backward (measured at the U-Net's shapes, 1-8 images, 128-1024 channels).
SMALL_INPUT_PIXELS = 256


@contextlib.contextmanager
def portable_ops():
    """Within this context, layers that pick a fast TensorFlow-only kernel trace the portable
    formula instead (exporters whose op set lacks those kernels, such as TFLite's built-ins).
    Affects functions traced inside it, in this thread."""
    previous = getattr(_PORTABLE, "active", False)
    _PORTABLE.active = True
    try:
        yield
    finally:
        _PORTABLE.active = previous


def portable_active():
    """True inside `portable_ops()` (in this thread)."""
    return getattr(_PORTABLE, "active", False)


def _phase_taps(kernel_size, stride):
    """For each output phase `p` (output index `stride * m + p`), the `(tap, offset)` pairs
    whose input pixel `m - offset` feeds it, under "same" padding with output = stride x input:
    output `j` receives input `i` through tap `k` when `j = stride * i + k - pad_before`, with
    `pad_before = (kernel_size - stride) // 2` (TensorFlow's split of the padding)."""
    before = max(kernel_size - stride, 0) // 2
    phases = [[] for _ in range(stride)]
    for tap in range(kernel_size):
        phase = (tap - before) % stride
        phases[phase].append((tap, (tap - before - phase) // stride))
    return phases


def transposed_conv_by_matmul(inputs, kernel, stride):
    """`tf.nn.conv2d_transpose(inputs, kernel, ..., strides=stride, padding="SAME")` with an
    output of `stride` x the input's height and width, as one matrix product of every input
    pixel with every tap (kernel read once, in its stored layout) and a sum of shifted taps per
    output phase, interleaved by `depth_to_space`.

    Args:
        inputs: (batch, height, width, in_channels) tensor.
        kernel: (kernel_h, kernel_w, out_channels, in_channels), Keras's and TensorFlow's
            layout; each side at least `stride`.
        stride: int.
    """
    kernel_h, kernel_w, out_channels, in_channels = (int(d) for d in kernel.shape)
    shape = tf.shape(inputs)
    batch, height, width = shape[0], shape[1], shape[2]
    taps = tf.matmul(
        tf.reshape(inputs, [-1, in_channels]),
        tf.reshape(kernel, [kernel_h * kernel_w * out_channels, in_channels]),
        transpose_b=True,
    )
    taps = tf.reshape(taps, [batch, height, width, kernel_h * kernel_w, out_channels])
    rows, cols = _phase_taps(kernel_h, stride), _phase_taps(kernel_w, stride)
    margin = max(abs(offset) for phase in rows + cols for _, offset in phase)
    taps = tf.pad(taps, [[0, 0], [margin, margin], [margin, margin], [0, 0], [0, 0]])
    phases = []
    for row_taps in rows:
        for col_taps in cols:
            total = None
            for tap_y, offset_y in row_taps:
                for tap_x, offset_x in col_taps:
                    top, left = margin - offset_y, margin - offset_x
                    part = taps[
                        :, top : top + height, left : left + width, tap_y * kernel_w + tap_x
                    ]
                    total = part if total is None else total + part
            phases.append(total)
    return tf.nn.depth_to_space(tf.concat(phases, axis=-1), stride)


@keras.saving.register_keras_serializable(package=_PACKAGE)
class Conv2DTranspose(keras.layers.Conv2DTranspose):
    """`keras.layers.Conv2DTranspose` that computes small inputs by one matrix product.

    For inputs of at most `SMALL_INPUT_PIXELS` pixels (batch x height x width), with equal
    strides, "same" padding, no output padding or dilation and channels last, the layer uses
    `transposed_conv_by_matmul`; otherwise, and inside `portable_ops()`, Keras's own call. The
    two agree to float32 rounding, values and gradients (tested). At a 256-px U-Net's inner
    levels (1x1 to 8x8 inputs, 512-1024 channels) the product is 2-7x faster than TensorFlow's
    kernel on a CPU, forward and backward. Where the size is known only at run time the choice
    is a `tf.cond`.

    The class keeps Keras's name, so weights are stored under the same names: weights saved from
    a model built with Keras's layer load into the same model built with this one, and the other
    way round (tested). A `.keras` file records which of the two classes it was built with.
    """

    def _by_matmul(self):
        strides, kernel = tuple(self.strides), tuple(self.kernel_size)
        return (
            not portable_active()
            and strides[0] == strides[1] > 1
            and min(kernel) >= strides[0]
            and self.padding == "same"
            and self.output_padding is None
            and tuple(self.dilation_rate) == (1, 1)
            and self.data_format == "channels_last"
        )

    def call(self, inputs):
        if not self._by_matmul():
            return super().call(inputs)
        static = inputs.shape[0], inputs.shape[1], inputs.shape[2]
        if None not in static:
            if static[0] * static[1] * static[2] > SMALL_INPUT_PIXELS:
                return super().call(inputs)
            return self._finish(self._matmul(inputs))
        shape = tf.shape(inputs)
        small = shape[0] * shape[1] * shape[2] <= SMALL_INPUT_PIXELS
        return tf.cond(
            small,
            lambda: self._finish(self._matmul(inputs)),
            lambda: super(Conv2DTranspose, self).call(inputs),
        )

    def _matmul(self, inputs):
        kernel = tf.cast(self.kernel, inputs.dtype)
        return transposed_conv_by_matmul(inputs, kernel, int(self.strides[0]))

    def _finish(self, outputs):
        if self.use_bias:
            outputs = outputs + tf.cast(self.bias, outputs.dtype)
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs
