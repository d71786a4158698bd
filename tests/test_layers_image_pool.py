"""ImagePool: the vectorised draw equals the image-by-image algorithm, and XLA compiles it."""

import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.layers import ImagePool


def reference_pool(pool, count, images, swap, slots, pool_size):
    """The pool's algorithm image by image (Shrivastava et al.; the former `tf.while_loop`)."""
    pool, outputs = pool.copy(), []
    for image, swapped, slot in zip(images, swap, slots, strict=True):
        if count < pool_size:
            pool[count] = image
            count += 1
            outputs.append(image)
        elif swapped:
            outputs.append(pool[slot].copy())
            pool[slot] = image
        else:
            outputs.append(image)
    return np.stack(outputs), pool, count


@pytest.mark.parametrize(
    ("pool_size", "count", "batch_size", "seed"),
    [(3, 0, 2, 0), (3, 2, 5, 1), (4, 4, 9, 2), (2, 2, 12, 3), (5, 1, 1, 4), (50, 49, 4, 5)],
)
def test_vectorised_draw_equals_the_image_by_image_algorithm(pool_size, count, batch_size, seed):
    rng = np.random.default_rng(seed)
    layer = ImagePool(pool_size, (2, 2, 1))
    start = rng.uniform(-1, 1, (pool_size, 2, 2, 1)).astype("float32")
    layer.images.assign(start)
    layer.count.assign(count)
    images = rng.uniform(-1, 1, (batch_size, 2, 2, 1)).astype("float32")
    swap = rng.uniform(size=batch_size) > 0.5
    # Few slots for many images: repeated slots within one batch are the case to get right.
    slots = rng.integers(0, min(pool_size, 2), batch_size).astype("int32")
    outputs, pool, new_count = layer._draw(tf.constant(images), tf.constant(swap), slots)
    expected = reference_pool(start, count, images, swap, slots, pool_size)
    np.testing.assert_array_equal(outputs.numpy(), expected[0])
    np.testing.assert_array_equal(pool.numpy(), expected[1])
    assert int(new_count) == expected[2]


def test_pool_compiles_with_xla_and_draws_as_it_does_without():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (6, 4, 4, 3)), tf.float32)
    swap = tf.constant(rng.uniform(size=6) > 0.5)
    slots = tf.constant(rng.integers(0, 2, 6), tf.int32)
    eager, compiled = ImagePool(4, (4, 4, 3)), ImagePool(4, (4, 4, 3))
    for layer in (eager, compiled):
        layer.images.assign(np.broadcast_to(np.arange(4.0)[:, None, None, None], (4, 4, 4, 3)))
        layer.count.assign(1)
    expected = eager._draw(images, swap, slots)
    result = tf.function(compiled._draw, jit_compile=True)(images, swap, slots)
    for value, wanted in zip(result, expected, strict=True):
        np.testing.assert_array_equal(value.numpy(), wanted.numpy())
    # The whole call compiles too. (TF's stateless random ops pick another algorithm under XLA,
    # so its draws, though seeded, are not those of the same call without XLA.)
    pool = ImagePool(4, (4, 4, 3), seed=7)
    step = tf.function(pool, jit_compile=True)
    for shift in range(4):  # fills, then swaps: every output is a new image or a stored one
        before = pool.images.numpy().copy()
        out = step(images[:3] + shift).numpy()
        for image in out:
            candidates = [*(images[:3].numpy() + shift), *before]
            assert any(np.array_equal(image, c) for c in candidates)
    assert int(pool.count.numpy()) == 4
    # One traced graph holds no loop: the pool is a fixed number of ops whatever the batch.
    graph = (
        tf.function(ImagePool(4, (4, 4, 3), seed=1))
        .get_concrete_function(tf.TensorSpec((None, 4, 4, 3), tf.float32))
        .graph
    )
    assert not {"While", "StatelessWhile"} & {op.type for op in graph.get_operations()}
