"""Analytic FLOP counts by the forward rule.

The rule, used for every contender alike:
- a network's forward FLOPs are those of its convolutions, transposed convolutions and matrix
  products, 2 per multiply-add, at the concrete input shape: Conv2D 2 * N * Ho * Wo * Kh * Kw *
  Cin * Cout (per group), a transposed convolution that of the convolution it transposes, Dense
  2 * N * in * out; normalisation, activations, padding, adds and losses are not counted (a few
  percent of the work, and not what a matmul peak measures);
- a training step costs 3 x the forward FLOPs of every network call whose output is
  differentiated (forward, gradient with respect to the input, gradient with respect to the
  weights) and 1 x for calls run forward only (a fake made by `predict`, a frozen network's
  output that no gradient flows through);
- a contender's count follows its own step's structure: a peer that reuses one discriminator
  output for two losses counts one call, our step that calls it twice counts two.

The forward FLOPs are read off the graph of a `tf.function` traced at the concrete input shape,
so every network is counted by the same code, ours and the peers' alike.
"""

from __future__ import annotations

import numpy as np


def _shape(tensor):
    shape = tensor.shape
    if shape.rank is None or None in shape.as_list():
        raise ValueError(f"FLOP counting needs static shapes; {tensor.name} is {shape}.")
    return shape.as_list()


def op_flops(op):
    """Forward-rule FLOPs of one graph operation (0 for the operations the rule ignores)."""
    kind = op.type
    if kind in ("Conv2D", "_FusedConv2D"):
        kh, kw, cin, cout = _shape(op.inputs[1])
        n, ho, wo, _ = _shape(op.outputs[0])
        return 2 * n * ho * wo * kh * kw * cin * cout
    if kind == "Conv2DBackpropInput":  # a transposed convolution
        kh, kw, _, c_small = _shape(op.inputs[1])
        n, hi, wi, _ = _shape(op.inputs[2])
        c_big = _shape(op.inputs[1])[2]
        return 2 * n * hi * wi * kh * kw * c_big * c_small
    if kind == "DepthwiseConv2dNative":
        kh, kw, cin, multiplier = _shape(op.inputs[1])
        n, ho, wo, _ = _shape(op.outputs[0])
        return 2 * n * ho * wo * kh * kw * cin * multiplier
    if kind in ("MatMul", "_FusedMatMul"):
        a, b = _shape(op.inputs[0]), _shape(op.inputs[1])
        m = a[1] if op.get_attr("transpose_a") else a[0]
        k = a[0] if op.get_attr("transpose_a") else a[1]
        n = b[0] if op.get_attr("transpose_b") else b[1]
        return 2 * m * k * n
    if kind in ("BatchMatMulV2", "BatchMatMulV3", "BatchMatMul"):
        a, b = _shape(op.inputs[0]), _shape(op.inputs[1])
        adj_x, adj_y = op.get_attr("adj_x"), op.get_attr("adj_y")
        m, k = (a[-1], a[-2]) if adj_x else (a[-2], a[-1])
        n = b[-2] if adj_y else b[-1]
        batch = int(np.prod(np.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2])) or (1,)))
        return 2 * batch * m * k * n
    return 0


def graph_flops(graph, seen=None):
    """Forward-rule FLOPs of every operation of a graph, inside called functions too."""
    seen = set() if seen is None else seen
    total = 0
    for op in graph.get_operations():
        total += op_flops(op)
        if op.type in ("PartitionedCall", "StatefulPartitionedCall"):
            name = op.get_attr("f").name
            function = graph._get_function(name)
            inner = getattr(function, "graph", None)
            if inner is not None:
                total += graph_flops(inner, seen)
    return total


def forward_flops(model, *input_shapes, dtype="float32", **call_kwargs):
    """Forward-rule FLOPs of one call of `model` on inputs of the given (static) shapes.

    Args:
        model: a callable Keras model (or any callable of TensorFlow tensors).
        *input_shapes: one shape per positional input; a dict `{name: shape}` for a model that
            takes a dict.
        dtype: str. Input dtype. Defaults to "float32".
        **call_kwargs: passed to the call (e.g. `training=False`, the default).

    Example:
        >>> forward_flops(keras.layers.Dense(10), (4, 3))
        240
    """
    import tensorflow as tf

    def spec(shape):
        if isinstance(shape, dict):
            return {key: tf.TensorSpec(value, dtype) for key, value in shape.items()}
        if isinstance(shape, list | tuple) and shape and isinstance(shape[0], list | tuple):
            return [tf.TensorSpec(value, dtype) for value in shape]
        return tf.TensorSpec(shape, dtype)

    call_kwargs.setdefault("training", False)
    specs = [spec(shape) for shape in input_shapes]
    function = tf.function(lambda *inputs: model(*inputs, **call_kwargs), autograph=False)
    return graph_flops(function.get_concrete_function(*specs).graph)


def step_flops(differentiated=(), forward_only=()):
    """A training step's FLOPs by the rule: 3 x each differentiated call, 1 x the others.

    Args:
        differentiated: iterable of (forward FLOPs, number of calls).
        forward_only: iterable of (forward FLOPs, number of calls).
    """
    return 3 * sum(f * n for f, n in differentiated) + sum(f * n for f, n in forward_only)
