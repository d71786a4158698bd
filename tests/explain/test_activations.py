"""Layer activations: equal to the functional sub-model's output, nested layers, bad names,
feature-map grids, and the ActivationMaps callback inside fit."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain.activations import ActivationMaps, layer_activations
from keras_styletransfer.explain.render import save_feature_maps, top_channels
from keras_styletransfer.models.discriminators import PatchGANDiscriminator
from keras_styletransfer.models.generators import ResnetGenerator
from keras_styletransfer.models.pix2pix import Pix2Pix


def images(count=2, side=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, (count, side, side, 3)).astype("float32")


def test_activations_equal_the_functional_sub_model():
    generator = ResnetGenerator(num_residual_blocks=1, filters=4)
    names = ["stem_conv", "down1", "res1_add", "up2"]
    x = images()
    activations = layer_activations(generator, x, names)
    assert list(activations) == names
    for name in names:
        expected = keras.Model(generator.inputs[0], generator.get_layer(name).output)(x)
        np.testing.assert_allclose(activations[name], expected, rtol=1e-5, atol=1e-6, err_msg=name)
    assert activations["down1"].shape == (2, 8, 8, 8)


def outer_model():
    inner = PatchGANDiscriminator(num_layers=1, filters=4, name="inner")
    x = keras.Input((16, 16, 3))
    return keras.Model(x, keras.layers.Dense(2, name="head")(inner(x)), name="outer"), inner


def test_activations_of_a_layer_inside_a_nested_model():
    outer, inner = outer_model()
    data = images(seed=1)
    expected = keras.Model(inner.inputs[0], inner.get_layer("conv2_norm").output)(data)
    by_name = layer_activations(outer, data, ["conv2_norm", "head"])
    by_path = layer_activations(outer, data, "inner/conv2_norm")
    np.testing.assert_allclose(by_name["conv2_norm"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(by_path["inner/conv2_norm"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(by_name["head"], outer(data), rtol=1e-5, atol=1e-6)


def test_unknown_layer_names_list_the_valid_ones():
    generator = ResnetGenerator(num_residual_blocks=1, filters=4)
    with pytest.raises(InputError, match=r"no_such_layer.*Valid layers: .*stem_conv"):
        layer_activations(generator, images(), ["stem_conv", "no_such_layer"])
    with pytest.raises(InputError, match=r"Valid layers: .*inner/conv1"):
        layer_activations(outer_model()[0], images(), "inner/nope")
    with pytest.raises(InputError, match="at least one"):
        layer_activations(generator, images(), [])


def test_feature_maps_show_the_strongest_channels(tmp_path):
    activation = np.zeros((1, 6, 6, 5), "float32")
    activation[0, :, :, 3] = 2.0
    activation[0, 2:4, 2:4, 1] = -5.0  # mean |a| 0.56 < 2
    activation[0, :, :, 4] = 0.1
    assert list(top_channels(activation[0], 3)) == [3, 1, 4]
    path = save_feature_maps(
        {"conv": activation, "dense": np.arange(10, dtype="float32")[np.newaxis]},
        str(tmp_path / "maps.png"),
        top_k=3,
    )
    picture = np.asarray(Image.open(path).convert("L"))
    assert picture.shape[0] > 150 and picture.std() > 5
    with pytest.raises(InputError, match="image_index"):
        save_feature_maps({"conv": activation}, str(tmp_path / "x.png"), image_index=4)


def test_activation_maps_callback_inside_pix2pix_fit(tmp_path):
    generator = ResnetGenerator(num_residual_blocks=1, filters=4)
    discriminator = PatchGANDiscriminator(num_layers=1, filters=4, conditional=True)
    model = Pix2Pix(generator, discriminator)
    model.compile()
    batch = (images(2, seed=2), images(2, seed=3))
    data = tf.data.Dataset.from_tensors(batch)
    maps_g = ActivationMaps(str(tmp_path), ["down1", "res1_add"], probe_data=data, top_k=4)
    maps_d = ActivationMaps(
        str(tmp_path), "conv1", network="discriminator", probe_data=batch, top_k=4
    )
    model.fit(data, epochs=2, callbacks=[maps_g, maps_d], verbose=0)
    for network in ("generator", "discriminator"):
        for epoch in (1, 2):
            path = tmp_path / f"activations_{network}_epoch_{epoch:03d}.png"
            assert np.asarray(Image.open(path).convert("L")).std() > 5
    # The grid shows the trained model's activations on the fixed probe.
    expected = keras.Model(generator.inputs[0], generator.get_layer("res1_add").output)(batch[0])
    np.testing.assert_allclose(maps_g.last_activations["res1_add"], expected, rtol=1e-5, atol=1e-6)
    expected = keras.Model(discriminator.inputs, discriminator.get_layer("conv1").output)(
        list(batch)
    )
    np.testing.assert_allclose(maps_d.last_activations["conv1"], expected, rtol=1e-5, atol=1e-6)
    bad = ActivationMaps(str(tmp_path), ["nope"], probe_data=data)
    with pytest.raises(InputError, match="Valid layers"):
        model.fit(data, epochs=1, callbacks=[bad], verbose=0)
    assert len(os.listdir(tmp_path)) == 4
