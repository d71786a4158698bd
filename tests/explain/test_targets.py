"""Every GAN target's score equals the quantity it names, computed independently."""

import keras
import numpy as np
import pytest

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain.targets import build_target
from keras_styletransfer.models.discriminators import (
    GlobalPoolDiscriminator,
    PatchGANDiscriminator,
)
from keras_styletransfer.models.generators import ResnetGenerator


def images(count=3, size=32, seed=0):
    return np.random.default_rng(seed).uniform(-1, 1, (count, size, size, 3)).astype("float32")


def test_region_realness_is_the_patch_map_mean_over_the_region():
    discriminator = PatchGANDiscriminator(num_layers=2, filters=4)
    x = images()
    patch_map = np.asarray(discriminator(x, training=False))[..., 0]
    height, width = patch_map.shape[1:]
    cells = np.zeros((height, width), np.float32)
    cells[: height // 2, 1:] = 1.0  # a region aligned with whole patches
    mask = np.kron(cells, np.ones((32 // height, 32 // width), np.float32))
    assert mask.shape == (32, 32)
    target = build_target("region_realness", discriminator=discriminator, mask=mask)
    expected = (patch_map * cells).sum(axis=(1, 2)) / cells.sum()
    np.testing.assert_allclose(np.asarray(target(x)), expected, rtol=1e-5, atol=1e-6)
    whole = build_target("realness", discriminator=discriminator)
    np.testing.assert_allclose(np.asarray(whole(x)), patch_map.mean(axis=(1, 2)), rtol=1e-5)
    pooled = GlobalPoolDiscriminator(filters=4, num_layers=2)
    with pytest.raises(InputError, match="patch map"):
        build_target("region_realness", discriminator=pooled, mask=mask)(x)


def test_edit_cycle_and_style_targets_measure_what_they_name():
    forward = ResnetGenerator(num_residual_blocks=1, filters=4, name="g")
    backward = ResnetGenerator(num_residual_blocks=1, filters=4, name="f")
    x = images(2)
    generated = np.asarray(forward(x, training=False))
    edit = build_target("edit", generator=forward)
    np.testing.assert_allclose(
        np.asarray(edit(x)), np.abs(generated - x).mean(axis=(1, 2, 3)), rtol=1e-5
    )
    cycle = build_target("cycle", generator=(forward, backward))
    back = np.asarray(backward(generated, training=False))
    np.testing.assert_allclose(
        np.asarray(cycle(x)), np.abs(back - x).mean(axis=(1, 2, 3)), rtol=1e-5
    )
    judge = GlobalPoolDiscriminator(filters=4, num_layers=2, num_styles=3)
    style = build_target("style", discriminator=judge, style=2)
    np.testing.assert_allclose(
        np.asarray(style(x)), np.asarray(judge(x, training=False)[1])[:, 2], rtol=1e-5
    )


def test_a_multi_task_discriminator_s_style_target_is_that_style_s_own_map():
    # StarGAN v2's discriminator: one patch map per domain, so "style" reads that style's map.
    discriminator = PatchGANDiscriminator(num_layers=2, filters=4, num_outputs=3)
    x = images(2)
    maps = np.asarray(discriminator(x, training=False))
    assert maps.shape == (2, 8, 8, 3)
    style = build_target("style", discriminator=discriminator, style=1)
    np.testing.assert_allclose(np.asarray(style(x)), maps[..., 1].mean(axis=(1, 2)), rtol=1e-5)
    generator = ResnetGenerator(num_residual_blocks=1, filters=4)
    judged = build_target(
        "realness_of_generated", generator=generator, discriminator=discriminator, style=2
    )
    rendered = np.asarray(discriminator(generator(x, training=False), training=False))
    np.testing.assert_allclose(np.asarray(judged(x)), rendered[..., 2].mean(axis=(1, 2)), rtol=1e-5)
    with pytest.raises(InputError, match="out of range"):
        build_target("style", discriminator=discriminator, style=3)
    # Realness, too, is judged on one domain's map (the first style's unless named): the maps
    # are trained apart, so their mean is no verdict.
    for style in (None, 1):
        realness = build_target("realness", discriminator=discriminator, style=style)
        expected = maps[..., style or 0].mean(axis=(1, 2))
        np.testing.assert_allclose(np.asarray(realness(x)), expected, rtol=1e-5)
    assert np.abs(expected - maps.mean(axis=(1, 2, 3))).max() > 1e-4  # not the mean of all
    cells = np.zeros((8, 8), np.float32)
    cells[:4] = 1.0
    region = build_target(
        "region_realness",
        discriminator=discriminator,
        style=2,
        mask=np.kron(cells, np.ones((4, 4))),
    )
    np.testing.assert_allclose(
        np.asarray(region(x)), maps[:, :4, :, 2].mean(axis=(1, 2)), rtol=1e-5, atol=1e-6
    )
    with pytest.raises(InputError, match="out of range"):
        build_target("realness", discriminator=discriminator, style=3)
    restored = PatchGANDiscriminator.from_config(discriminator.get_config())
    assert restored.outputs[0].shape[-1] == 3


def test_unit_target_is_one_channels_mean_activation():
    discriminator = PatchGANDiscriminator(num_layers=2, filters=4)
    layer = next(
        layer.name
        for layer in discriminator.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.filters == 8
    )
    x = images(2)
    probe = keras.Model(discriminator.inputs, discriminator.get_layer(layer).output)
    expected = np.asarray(probe([x], training=False))[..., 5].mean(axis=(1, 2))
    target = build_target("unit", discriminator=discriminator, layer=layer, unit=5)
    np.testing.assert_allclose(np.asarray(target(x)), expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(InputError, match="layer"):
        build_target("unit", discriminator=discriminator, layer="no_such_layer", unit=0)
