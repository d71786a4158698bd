"""stylize() reuses its compiled function: same-size images trace once, and no model is kept."""

import gc
import weakref

import keras
import numpy as np
import tensorflow as tf

from keras_styletransfer.serving.inference import Stylizer, stylize


class TraceCounter(keras.layers.Layer):
    """An identity layer counting the graphs it is traced into (eager calls are not counted)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.traces = 0

    def call(self, inputs):
        if not tf.executing_eagerly():
            self.traces += 1
        return inputs


def counted_generator():
    images = keras.Input((None, None, 3))
    counter = TraceCounter(name="counter")
    x = keras.layers.Conv2D(3, 3, padding="same", activation="tanh")(counter(images))
    model = keras.Model(images, x)
    model.size_multiple = 4
    counter.traces = 0  # building the functional model traced it symbolically
    return model, counter


def photo(height, width, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def test_stylize_twice_on_same_size_images_traces_once():
    generator, counter = counted_generator()
    first = stylize(generator, [photo(24, 20)])
    stylize(generator, photo(24, 20, 1))
    assert counter.traces == 1
    # Other shapes relax the traced signature once (reduce_retracing), then reuse it.
    for images in ([photo(24, 20)] * 2, [photo(32, 36)], [photo(16, 16)] * 3, [photo(52, 8)]):
        stylize(generator, images)
    assert counter.traces <= 3
    # Other arguments get their own compiled function.
    traces = counter.traces
    stylize(generator, [photo(24, 20)], batch_size=2)
    assert counter.traces == traces + 1
    fresh = Stylizer(generator)([photo(24, 20)])
    np.testing.assert_allclose(first[0], fresh[0], atol=1e-6)


def test_the_cache_keeps_no_generator_alive():
    generator, _ = counted_generator()
    stylize(generator, [photo(8, 8)])
    reference = weakref.ref(generator)
    del generator
    gc.collect()
    assert reference() is None


def test_cached_stylizer_sees_later_weight_changes():
    generator, _ = counted_generator()
    image = photo(8, 8)
    before = stylize(generator, image)[0]
    kernel = generator.layers[-1].kernel
    kernel.assign(-kernel.numpy())
    after = stylize(generator, image)[0]
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, Stylizer(generator)(image)[0], atol=1e-6)
