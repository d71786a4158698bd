"""Faster formulations of standard layers: the transposed convolution by one matrix product."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer import kernels
from keras_styletransfer.kernels import Conv2DTranspose, portable_ops, transposed_conv_by_matmul
from keras_styletransfer.models.generators import UNetGenerator


@pytest.mark.parametrize("kernel_size, stride", [(2, 2), (3, 2), (4, 2), (5, 2), (4, 3), (6, 3)])
def test_the_matrix_product_is_tensorflows_transposed_convolution(kernel_size, stride):
    rng = np.random.default_rng(kernel_size * 10 + stride)
    inputs = tf.constant(rng.normal(size=(2, 3, 5, 7)), tf.float32)
    kernel = tf.constant(rng.normal(size=(kernel_size, kernel_size, 4, 7)), tf.float32)
    expected = tf.nn.conv2d_transpose(
        inputs, kernel, [2, 3 * stride, 5 * stride, 4], stride, "SAME"
    ).numpy()
    mine = transposed_conv_by_matmul(inputs, kernel, stride).numpy()
    assert mine.shape == expected.shape
    np.testing.assert_allclose(mine, expected, rtol=1e-5, atol=1e-5)


def _op_types(function, *args):
    """Op types of the traced graph, branches of conditionals included."""
    graph = function.get_concrete_function(*args).graph.as_graph_def()
    types = {node.op for node in graph.node}
    for library_function in graph.library.function:
        types |= {node.op for node in library_function.node_def}
    return types


def _pair(kernel_size, activation="tanh"):
    ours = Conv2DTranspose(5, kernel_size, strides=2, padding="same", activation=activation)
    theirs = keras.layers.Conv2DTranspose(
        5, kernel_size, strides=2, padding="same", activation=activation
    )
    ours.build((None, None, None, 6)), theirs.build((None, None, None, 6))
    rng = np.random.default_rng(kernel_size)
    theirs.set_weights([rng.normal(size=w.shape).astype("float32") * 0.3 for w in theirs.weights])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("kernel_size", [3, 4])
@pytest.mark.parametrize("height, width", [(1, 1), (4, 3), (12, 24)])
def test_the_layer_agrees_with_keras_in_values_and_gradients(kernel_size, height, width):
    # (1, 1) and (4, 3) take the matrix product, (12, 24) (288 pixels a image) Keras's kernel.
    ours, theirs = _pair(kernel_size)
    rng = np.random.default_rng(7)
    inputs = tf.constant(rng.normal(size=(2, height, width, 6)), tf.float32)
    weight = tf.constant(rng.normal(size=(2, 2 * height, 2 * width, 5)), tf.float32)
    results = []
    for layer in (ours, theirs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(layer(inputs) * weight)
        grads = tape.gradient(loss, [inputs, *layer.trainable_variables])
        results.append([layer(inputs).numpy(), *(g.numpy() for g in grads)])
    for mine, keras_own in zip(*results, strict=True):
        np.testing.assert_allclose(mine, keras_own, rtol=1e-4, atol=1e-4)
    small = 2 * height * width <= kernels.SMALL_INPUT_PIXELS
    types = _op_types(tf.function(ours), inputs)
    assert ("Conv2DBackpropInput" not in types) == small and ("MatMul" in types) == small


def test_unknown_sizes_choose_at_run_time_and_portable_ops_keep_kerass_formula():
    ours, theirs = _pair(4, activation=None)
    spec = tf.TensorSpec((None, None, None, 6))
    dynamic = tf.function(ours, input_signature=[spec])
    types = _op_types(dynamic)
    assert {"MatMul", "Conv2DBackpropInput"} <= types and types & {"If", "StatelessIf"}
    rng = np.random.default_rng(3)
    for shape in [(1, 2, 2, 6), (3, 5, 4, 6), (2, 16, 16, 6)]:  # 4, 60 and 512 pixels
        inputs = tf.constant(rng.normal(size=shape), tf.float32)
        np.testing.assert_allclose(dynamic(inputs), theirs(inputs), rtol=1e-4, atol=1e-4)
    with portable_ops():
        portable = tf.function(ours, input_signature=[spec])
        types = _op_types(portable)
    assert "MatMul" not in types and "Conv2DBackpropInput" in types
    inputs = tf.constant(rng.normal(size=(1, 3, 3, 6)), tf.float32)
    np.testing.assert_array_equal(portable(inputs).numpy(), theirs(inputs).numpy())


def test_weights_move_between_kerass_layer_and_ours(tmp_path):
    _, theirs = _pair(4)
    keras_model = keras.Sequential([keras.Input((3, 3, 6)), theirs])
    keras_model.save_weights(tmp_path / "keras.weights.h5")
    twin = keras.Sequential(
        [keras.Input((3, 3, 6)), Conv2DTranspose(5, 4, 2, "same", activation="tanh")]
    )
    twin.load_weights(tmp_path / "keras.weights.h5")
    inputs = np.random.default_rng(0).normal(size=(2, 3, 3, 6)).astype("float32")
    np.testing.assert_allclose(twin(inputs), keras_model(inputs), rtol=1e-5, atol=1e-5)
    restored = keras.Sequential.from_config(twin.get_config())
    assert isinstance(restored.layers[-1], Conv2DTranspose)


def test_a_unet_uses_the_product_at_its_inner_levels_under_mixed_precision():
    # A 64-px U-Net with 6 levels: its first up blocks see 1x1 to 8x8 features.
    generator = UNetGenerator(num_downsamplings=6, filters=4, max_filters=16, dropout=0)
    assert isinstance(generator.get_layer("up1"), Conv2DTranspose)
    photo = tf.constant(np.random.default_rng(1).uniform(-1, 1, (1, 64, 64, 3)), tf.float32)
    expected = generator(photo).numpy()
    with portable_ops():
        np.testing.assert_allclose(tf.function(generator)(photo), expected, atol=1e-5)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        half = UNetGenerator(num_downsamplings=6, filters=4, max_filters=16, dropout=0)
        half.set_weights(generator.get_weights())
        output = half(photo)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    assert output.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(output, tf.float32), expected, atol=0.05)
