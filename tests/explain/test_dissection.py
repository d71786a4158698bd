"""Dissection on a model whose units are known by construction."""

import keras
import numpy as np
import pytest

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import dissection


def _known_model():
    """G(x) = x + mix(units(x)); unit 0 = relu(x) fires only where x > 0 (the region), unit 1 =
    relu(-x) only outside it, unit 2 = relu(0.05 x + 0.1) everywhere (a little more inside)."""
    image = keras.Input((16, 16, 1), name="image")
    units = keras.layers.Conv2D(3, 1, activation="relu", name="units")(image)
    mix = keras.layers.Conv2D(1, 1, use_bias=False, name="mix")(units)
    model = keras.Model(image, keras.layers.Add(name="to_image")([image, mix]))
    model.get_layer("units").set_weights(
        [np.array([[[[1.0, -1.0, 0.05]]]], "float32"), np.array([0.0, 0.0, 0.1], "float32")]
    )
    model.get_layer("mix").set_weights([np.array([[[[0.8], [0.1], [0.1]]]], "float32")])
    return model


def _images(count=8, seed=0):
    """Positive inside a random 6x6 square, negative outside; returns (images, true masks)."""
    rng = np.random.default_rng(seed)
    images = -0.5 - rng.uniform(0, 0.3, (count, 16, 16, 1))
    masks = np.zeros((count, 16, 16), bool)
    for index in range(count):
        top, left = rng.integers(0, 11, size=2)
        masks[index, top : top + 6, left : left + 6] = True
    inside = 0.5 + rng.uniform(0, 0.3, (count, 16, 16, 1))
    images = np.where(masks[..., None], inside, images)
    return images.astype("float32"), masks


def test_difference_masks_recover_the_edited_region():
    model = _known_model()
    images, masks = _images()
    found = dissection.difference_masks(model, images)
    assert np.array_equal(found, masks)


def test_the_known_unit_ranks_first_and_its_ablation_acts_inside_the_region():
    model = _known_model()
    images, _ = _images()
    masks = dissection.difference_masks(model, images)
    result = dissection.dissect(model, images, "units", masks, quantile=0.8)
    assert result.ranking[0] == 0
    assert result.ious[0] == pytest.approx(1.0)
    assert result.ious[1] == 0.0  # the outside unit never overlaps the region
    assert result.ious[2] < result.ious[0]
    result = dissection.intervene(model, images, result, masks, top=3, mode="ablate")
    first = result.effects[0]
    assert first.unit == 0 and first.inside_share > 0.99 and first.outside_change == 0.0
    outside_unit = next(e for e in result.effects if e.unit == 1)
    assert outside_unit.inside_share == 0.0 and outside_unit.outside_change > 0
    boosted = dissection.intervene(model, images, result, masks, top=1, mode="boost")
    assert boosted.effects[0].inside_share > 0.99
    assert result.to_dict()["ranking"][0] == 0


def test_threshold_maps_and_bad_inputs():
    maps = np.arange(16.0).reshape(1, 4, 4)
    assert dissection.threshold_maps(maps, quantile=0.75).sum() == 4
    assert dissection.threshold_maps(maps, relative=0.5).sum() == 8
    with pytest.raises(InputError, match="quantile"):
        dissection.threshold_maps(maps, quantile=1.5)
    model = _known_model()
    images, masks = _images(2)
    with pytest.raises(InputError, match="one per image"):
        dissection.dissect(model, images, "units", masks[:1])
    with pytest.raises(InputError, match="mode"):
        dissection.intervene(
            model, images, dissection.dissect(model, images, "units", masks), masks, mode="x"
        )


@pytest.mark.slow
def test_grad_cam_masks_of_a_trained_discriminator_find_the_styled_region():
    from keras_styletransfer.explain.synthetic import (
        edited_region_set,
        small_discriminator,
        train_discriminator,
    )

    data = edited_region_set(count=48, size=16, region=8, seed=0)
    images, labels = data.training_data()
    discriminator = small_discriminator("global_pool", filters=4, num_layers=2, seed=0)
    assert train_discriminator(discriminator, images, labels, epochs=6, batch_size=16) >= 0.9
    found = dissection.grad_cam_masks(discriminator, data.edited[:8], "conv2_lrelu")
    truth = data.masks[:8].astype(bool)
    iou = (found & truth).sum() / (found | truth).sum()
    assert iou > 0.5  # measured 0.75; a random mask of the same size gives ~0.14
    result = dissection.dissect(discriminator, data.edited[:8], "conv2_lrelu", found)
    assert result.ious[result.ranking[0]] > 0.4
