"""Attribution methods on subclassed, nested D(G(x)) and two-input conditional models; errors."""

import keras
import numpy as np
import pytest

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import attribution
from keras_styletransfer.explain.targets import TARGETS, build_target
from keras_styletransfer.models.discriminators import (
    GlobalPoolDiscriminator,
    PatchGANDiscriminator,
)
from keras_styletransfer.models.generators import UNetGenerator


def _images(count=2, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, 16, 16, 3)).astype("float32")


class SubclassedD(keras.Model):
    """A plain subclassed model (custom `call`, no functional graph) sharing layers."""

    def __init__(self, conv, head):
        super().__init__()
        self.conv, self.head = conv, head

    def call(self, images, training=False):
        return self.head(keras.ops.mean(self.conv(images), axis=(1, 2)))


def test_grad_cam_on_a_subclassed_model_equals_the_functional_one():
    inputs = keras.Input((16, 16, 3))
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="features")
    head = keras.layers.Dense(1)
    functional = keras.Model(inputs, head(keras.ops.mean(conv(inputs), axis=(1, 2))))
    subclassed = SubclassedD(conv, head)
    images = _images()
    expected = attribution.grad_cam(functional, images, "features")
    from keras_styletransfer.explain.targets import FunctionTarget

    target = FunctionTarget(subclassed, name="subclassed")
    np.testing.assert_allclose(
        attribution.grad_cam(target, images, "features"), expected, atol=1e-6
    )
    assert np.abs(expected).max() > 0


def test_nested_d_of_g_equals_the_realness_of_generated_target():
    generator = UNetGenerator(num_downsamplings=2, filters=4, max_filters=8)
    discriminator = GlobalPoolDiscriminator(num_layers=1, filters=4)
    inputs = keras.Input((16, 16, 3))
    nested = keras.Model(inputs, discriminator(generator(inputs)))
    images = _images()
    target = build_target("realness_of_generated", generator=generator, discriminator=discriminator)
    for method, arguments in (("grad_cam", {"layer_name": "conv2_lrelu"}), ("saliency", {})):
        through_nested = attribution.explain(method, nested, images, **arguments)
        through_target = attribution.explain(method, target, images, **arguments)
        np.testing.assert_allclose(through_nested, through_target, rtol=1e-4, atol=1e-6)
        assert np.abs(through_target).max() > 0


def test_two_input_conditional_discriminator():
    discriminator = PatchGANDiscriminator(num_layers=1, filters=4, conditional=True)
    images, sources = _images(2, 0), _images(2, 1)
    target = build_target("realness", discriminator=discriminator, source=sources)
    cams = attribution.grad_cam(target, images, "conv2_lrelu")
    assert cams.shape == (2, 16, 16) and cams.min() >= 0
    # Per-image conditions stay aligned with their images in batched IG rows.
    together, check = attribution.integrated_gradients(
        target, images, steps=16, return_completeness=True
    )
    alone = attribution.integrated_gradients(
        build_target("realness", discriminator=discriminator, source=sources[1:]),
        images[1:],
        steps=16,
    )
    np.testing.assert_allclose(together[1:], alone, rtol=1e-4, atol=1e-6)
    assert np.all(check["absolute_error"] < 0.05 * np.abs(check["difference"]) + 1e-3)
    with pytest.raises(InputError, match="source"):
        build_target("realness", discriminator=discriminator)


def test_explain_edit_sums_to_the_change_of_d():
    generator = UNetGenerator(num_downsamplings=2, filters=4, max_filters=8)
    discriminator = GlobalPoolDiscriminator(num_layers=1, filters=4)
    result = attribution.explain_edit(generator, discriminator, _images(), steps=64)
    difference = result.realness_generated - result.realness_content
    print(f"\n[attribution] explain_edit relative completeness errors {result.relative_error}")
    np.testing.assert_allclose(
        result.attributions.sum(axis=(1, 2)),
        difference,
        atol=0.05 * np.abs(difference).max() + 1e-4,
    )


def test_bad_input_lists_choices():
    discriminator = GlobalPoolDiscriminator(num_layers=1, filters=4)
    with pytest.raises(InputError, match="Valid targets"):
        build_target("nope", discriminator=discriminator)
    with pytest.raises(InputError, match="style head"):
        build_target("style", discriminator=discriminator)
    with pytest.raises(InputError, match="Valid layers"):
        build_target("unit", discriminator=discriminator, layer="nope")
    with pytest.raises(InputError, match=r"no spatial output.*Valid layers"):
        attribution.grad_cam(discriminator, _images(), "pool")
    with pytest.raises(InputError, match="Valid methods"):
        attribution.explain("nope", discriminator, _images())
    assert {"realness", "region_realness", "style", "edit", "cycle", "unit"} <= set(TARGETS)
