"""The learned photo filter: `PhotoFilter`'s operators against independent references, its
fast-moving global settings, and `FilterGenerator` as an unpaired generator (CUT)."""

import cv2
import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.errors import InputError
from keras_styletransfer.models.filters import (
    MAP_NAMES,
    FilterGenerator,
    PhotoFilter,
    StyleFilterGenerator,
    edge_magnitude,
    guided_smoothing,
    pencil_shading,
)
from tests.testing import keras_round_trip


def _photo(height=40, width=52, seed=0):
    """A smooth random photo with strong edges, float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    image = cv2.GaussianBlur(rng.random((height, width, 3)).astype("float32"), (0, 0), 3)
    return np.clip((image - image.mean()) * 4 + 0.5, 0, 1).astype("float32")


def _set(layer, **logits):
    """Put the layer's global settings at these logits (in the settings' own units)."""
    for name, value in logits.items():
        weight = getattr(layer, name)
        row = np.reshape(np.asarray(value, "float32"), (1, -1)) / layer.setting_rate
        weight.assign(np.broadcast_to(row, weight.shape))


OFF = {"mix": [60.0, -60.0, -60.0], "grey": -60.0, "ink": -60.0, "light": -60.0}
OFF_SKETCH = {**OFF, "sketch_mix": -60.0}  # with the pencil shading (`sketch=True`)


def _filtered(layer, photo, offsets=None):
    batch = tf.constant(photo[None] * 2 - 1)
    if offsets is None:
        offsets = np.zeros((1, *photo.shape[:2], len(MAP_NAMES)), "float32")
    return (layer([batch, offsets]).numpy()[0] + 1) / 2


def test_edge_magnitude_is_opencv_s_sobel_summed_over_channels_at_any_size():
    photo = _photo()
    expected = sum(
        np.hypot(
            cv2.Sobel(photo[..., c], cv2.CV_32F, 1, 0, ksize=3, borderType=cv2.BORDER_REFLECT),
            cv2.Sobel(photo[..., c], cv2.CV_32F, 0, 1, ksize=3, borderType=cv2.BORDER_REFLECT),
        )
        for c in range(3)
    )
    got = edge_magnitude(tf.constant(photo[None]))[0, ..., 0].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert expected.max() > 0.5  # the photo has edges to find
    # A one-pixel image and a one-pixel-high strip: no edge, no error.
    for shape in ((1, 1, 1, 3), (1, 1, 9, 3)):
        assert np.abs(edge_magnitude(tf.fill(shape, 0.3)).numpy()).max() < 1e-5


def test_guided_smoothing_matches_a_direct_guided_filter():
    photo = _photo(20, 24)
    radius, eps = 2, 0.01

    def box(values):  # the mean over the window's pixels inside the image, written out
        out = np.zeros_like(values)
        for y in range(values.shape[0]):
            for x in range(values.shape[1]):
                window = values[
                    max(0, y - radius) : y + radius + 1, max(0, x - radius) : x + radius + 1
                ]
                out[y, x] = window.mean(axis=(0, 1))
        return out

    mean = box(photo)
    variance = box(photo * photo) - mean * mean
    a = variance / (variance + eps)
    expected = box(a) * photo + box(mean - a * mean)
    got = guided_smoothing(tf.constant(photo[None]), radius, eps)[0].numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.abs(got - photo).mean() > 0.005  # it did smooth


def test_photo_filter_operators_one_at_a_time():
    photo = _photo()
    layer = PhotoFilter()
    layer.build(None)
    _set(layer, **OFF)
    np.testing.assert_allclose(_filtered(layer, photo), photo, atol=1e-5)
    _set(layer, mix=[-60.0, 60.0, -60.0])  # the small-radius guided filter alone
    smooth = guided_smoothing(tf.constant(photo[None]), 2, 0.01)[0].numpy()
    np.testing.assert_allclose(_filtered(layer, photo), np.clip(smooth, 0, 1), atol=1e-5)
    _set(layer, mix=OFF["mix"], grey=60.0)  # grey: the luminance in every channel
    luminance = photo @ np.array([0.299, 0.587, 0.114], "float32")
    np.testing.assert_allclose(
        _filtered(layer, photo), np.repeat(luminance[..., None], 3, -1), atol=1e-5
    )
    _set(layer, grey=-60.0, light=0.0)  # half way to white
    np.testing.assert_allclose(_filtered(layer, photo), (1 + photo) / 2, atol=1e-5)
    _set(layer, light=-60.0, gain=[np.log(0.5)] * 3, bias=[0.1, 0.0, -0.1])  # colour grade
    graded = np.clip(photo * 0.5 + np.array([0.1, 0.0, -0.1], "float32"), 0, 1)
    np.testing.assert_allclose(_filtered(layer, photo), graded, atol=1e-5)
    # Per-pixel offsets raise a setting where they are given: lighten the left half only.
    _set(layer, gain=[0.0] * 3, bias=[0.0] * 3)
    offsets = np.zeros((1, *photo.shape[:2], len(MAP_NAMES)), "float32")
    offsets[..., : photo.shape[1] // 2, MAP_NAMES.index("light")] = 120.0
    half = _filtered(layer, photo, offsets)
    np.testing.assert_allclose(half[:, : photo.shape[1] // 2], 1.0, atol=1e-5)
    np.testing.assert_allclose(
        half[:, photo.shape[1] // 2 :], photo[:, photo.shape[1] // 2 :], atol=1e-5
    )


def test_the_ink_setting_at_one_on_an_edge_preserving_smoothing_is_opencv_s_stylization():
    # OpenCV's `stylization` (our watercolour) is an edge-preserving smoothing darkened by
    # 1 x its Sobel magnitude: the filter holds the exact rule, so a generator can learn it.
    photo = np.round(_photo(48, 64) * 255).astype(np.uint8)
    smooth = cv2.edgePreservingFilter(photo, flags=cv2.NORMCONV_FILTER, sigma_s=30, sigma_r=0.45)
    styled = cv2.stylization(photo, sigma_s=30, sigma_r=0.45).astype("float32")
    layer = PhotoFilter()
    layer.build(None)
    _set(layer, **{**OFF, "ink": np.log(np.e - 1)})  # softplus -> exactly 1
    assert layer.settings()["ink"] == pytest.approx(1.0, abs=1e-5)
    out = _filtered(layer, smooth.astype("float32") / 255) * 255
    assert np.abs(out - styled).mean() < 1.5  # levels of 255
    assert np.abs(smooth.astype("float32") - styled).mean() > 10  # the outlines matter


def _ssim(a, b):
    from skimage.metrics import structural_similarity

    return structural_similarity(a, b, channel_axis=-1, data_range=1.0)


def test_the_pencil_shading_at_opencv_s_settings_draws_opencv_s_pencil_sketch():
    # Our "pencil" style is OpenCV's `pencilSketch` (shade factor 0.05); the shading estimates
    # its domain-transform counts from local mean colour steps. On real photos (64 px, as the
    # unpaired benchmark trains) it is far closer to the sketch than a blank page or the photo.
    from keras_styletransfer.data.offline_photos import load_photo
    from keras_styletransfer.data.styles import pencil_sketch

    for name in ("chelsea", "grace_hopper", "flower"):
        photo = load_photo(name)
        photo = cv2.resize(photo, (64, 64 * photo.shape[0] // photo.shape[1]), cv2.INTER_AREA)
        sketch = pencil_sketch(photo).astype("float32") / 255
        values = tf.constant(photo[None].astype("float32") / 255)
        window = 2 * np.sqrt(3) * 60 * np.sqrt(3) * 4 / np.sqrt(63)  # its first pass
        shaded = pencil_shading(values, 0.05 * window, 60 / 0.07)[0].numpy()
        ours = np.repeat(shaded, 3, -1)
        white = np.ones_like(sketch)
        grey = np.repeat((photo @ np.array([0.299, 0.587, 0.114]))[..., None] / 255, 3, -1)
        assert _ssim(ours, sketch) > max(_ssim(white, sketch), _ssim(grey, sketch)) + 0.15, name
        # As much of the page dark as in the sketch (92% of the cat's fur, half of a portrait).
        assert abs((ours < 0.5).mean() - (sketch < 0.5).mean()) < 0.15, name
    # Any size; a flat image is a blank page.
    for shape in ((1, 1, 1, 3), (1, 5, 1, 3), (2, 9, 31, 3)):
        np.testing.assert_array_equal(pencil_shading(tf.fill(shape, 0.4), 9.0, 857.0), 1.0)


def test_the_sketch_setting_mixes_in_the_pencil_shading_it_reports():
    photo = _photo()
    layer = PhotoFilter(sketch=True)
    layer.build(None)
    _set(layer, **OFF_SKETCH)
    np.testing.assert_allclose(_filtered(layer, photo), photo, atol=1e-5)
    _set(layer, sketch_mix=0.0, log_shade=np.log(9.0), log_edge_scale=np.log(857.0))
    shaded = pencil_shading(tf.constant(photo[None]), 9.0, 857.0)[0].numpy()
    np.testing.assert_allclose(_filtered(layer, photo), (photo + shaded) / 2, atol=1e-5)
    found = layer.settings()
    assert found["sketch"] == pytest.approx(0.5)
    assert found["shade"] == pytest.approx(9.0, rel=1e-4)
    assert found["edge_scale"] == pytest.approx(857.0, rel=1e-4)
    # Its settings learn: a plain loss towards the full shading moves all three.
    wanted = tf.constant(np.repeat(shaded, 3, -1)[None] * 2 - 1)
    _set(layer, sketch_mix=-2.0, log_shade=np.log(4.0), log_edge_scale=np.log(400.0))
    zeros = tf.zeros((1, *photo.shape[:2], len(MAP_NAMES)))
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(tf.square(layer([tf.constant(photo[None] * 2 - 1), zeros]) - wanted))
    names = [w.path.split("/")[-1] for w in layer.weights]
    gradients = dict(zip(names, tape.gradient(loss, layer.weights), strict=True))
    for name in ("sketch", "log_shade", "log_edge_scale"):
        assert np.abs(gradients[name].numpy()).max() > 0, name


def test_the_pencil_shading_is_opt_in_and_round_trips(tmp_path):
    old = FilterGenerator()
    config = old.get_config()
    del config["sketch"]  # as written before the setting existed
    restored = FilterGenerator.from_config(config)
    restored.set_weights(old.get_weights())
    assert "sketch" not in restored.filter_settings()
    sketching = StyleFilterGenerator(3, sketch=True)
    _row(sketching.get_layer("styled"), 1, sketch_mix=2.0, log_shade=np.log(5.0))
    again = keras_round_trip(sketching, tmp_path)
    assert again.filter_settings(1) == sketching.filter_settings(1)
    assert again.filter_settings(1)["shade"] == pytest.approx(5.0, rel=1e-4)
    style_config = StyleFilterGenerator(3).get_config()
    del style_config["sketch"]
    assert StyleFilterGenerator.from_config(style_config).get_layer("styled").sketch is False


def test_global_settings_move_setting_rate_times_faster_under_adam():
    # Fit the global settings to a target filter (ink 1, some grey) by a plain loss at the
    # generators' learning rate: with the default rate the logits travel the 6 units there
    # in 400 steps; stored as themselves (rate 1) they barely move.
    photo = tf.constant(_photo(24, 24)[None] * 2 - 1)
    target = PhotoFilter()
    target.build(None)
    _set(target, **{**OFF, "ink": np.log(np.e - 1), "grey": 0.0})
    zeros = tf.zeros((1, 24, 24, len(MAP_NAMES)))
    wanted = target([photo, zeros])
    reached = {}
    for rate in (100.0, 1.0):
        layer = PhotoFilter(setting_rate=rate)
        layer.build(None)
        optimizer = keras.optimizers.Adam(2e-4)

        @tf.function
        def step(layer=layer, optimizer=optimizer):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(tf.square(layer([photo, zeros]) - wanted))
            weights = layer.trainable_weights
            optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights, strict=True))

        for _ in range(400):
            step()
        reached[rate] = layer.settings()
    assert reached[100.0]["ink"] > 0.5 and reached[100.0]["grey"] > 0.05  # from 0.0025
    assert reached[1.0]["ink"] < 0.01 and reached[1.0]["grey"] < 0.01


def test_filter_generator_starts_at_the_photo_takes_any_size_and_keeps_its_settings(tmp_path):
    generator = FilterGenerator(filters=4, num_layers=2)
    batch = tf.constant(_photo()[None] * 2 - 1)
    start = generator(batch).numpy()
    assert np.abs(start - batch.numpy()).mean() < 0.01  # within ~1% of the range
    settings = generator.filter_settings()
    assert settings["keep"] > 0.99 and settings["ink"] < 0.01 and settings["gain"] == [1.0] * 3
    # Any height and width, one pixel included, traced once for unknown sizes.
    spec = tf.TensorSpec([None, None, None, 3])
    traced = tf.function(lambda x: generator(x), input_signature=[spec])
    for height, width in ((1, 1), (13, 37), (300, 7)):
        assert traced(tf.zeros((1, height, width, 3))).shape == (1, height, width, 3)
    assert traced.experimental_get_tracing_count() == 1
    # The learned settings travel in the .keras file.
    _set(generator.get_layer("to_image"), ink=0.5, bias=[0.1, 0.0, 0.0])
    restored = keras_round_trip(generator, tmp_path)
    assert restored.filter_settings() == generator.filter_settings()
    np.testing.assert_array_equal(restored(batch).numpy(), generator(batch).numpy())
    # The global filter alone trains only its settings; PatchNCE reads the photo then.
    alone = FilterGenerator(filters=0)
    assert {w.path.split("/")[-1] for w in alone.trainable_weights} == {
        "mix",
        "log_eps",
        "grey",
        "ink",
        "light",
        "gain",
        "bias",
    }
    sketching = FilterGenerator(sketch=True)
    assert {"sketch", "log_shade", "log_edge_scale"} <= {
        w.path.split("/")[-1] for w in sketching.trainable_weights
    }
    assert alone.nce_layers == ("photo",)
    assert generator.nce_layers == ("photo", "features1", "features2")
    with pytest.raises(ValueError, match="`radii` must be two window radii"):
        FilterGenerator(radii=(2,))
    with pytest.raises(InputError, match="setting_rate"):
        FilterGenerator(setting_rate=0)
    with pytest.raises(InputError, match="filters"):
        FilterGenerator(filters=-1)


def test_cut_trains_a_filter_generator_through_fit():
    from keras_styletransfer.models.cut import CUT
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator

    generator = FilterGenerator(filters=4, num_layers=2, name="g")
    model = CUT(
        generator,
        PatchGANDiscriminator(num_layers=2, filters=4, name="d"),
        nce_weight=0.25,
        num_patches=16,
        seed=0,
    )
    model.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    rng = np.random.default_rng(0)
    photos = rng.uniform(-1, 1, (4, 16, 16, 3)).astype("float32")
    paintings = np.clip(photos * 0.3 - 0.4, -1, 1)  # darker and greyer than the photos
    before = generator.filter_settings()
    dataset = tf.data.Dataset.from_tensor_slices((photos, paintings)).batch(2).repeat()
    history = model.fit(dataset, steps_per_epoch=5, epochs=1, verbose=0)
    after = generator.filter_settings()
    assert np.isfinite(history.history["g_loss"]).all()
    # D's gradient reaches the global settings: they move by far more than one learning rate.
    moved = max(abs(after[k] - before[k]) for k in ("keep", "grey", "ink", "light"))
    moved = max(moved, *(abs(a - b) for a, b in zip(after["bias"], before["bias"], strict=True)))
    assert moved > 0.01


def test_the_cut_filter_preset_keeps_the_model_contract():
    from keras_styletransfer.models.presets import get_translation_preset
    from tests.models import test_models as contract

    model = get_translation_preset("cut_filter").build(16, 4, (), seed=0)
    assert model.family == "cut" and model.nce_weight == 0.25 and model.nce_identity
    assert isinstance(model.generator, FilterGenerator)
    assert model.generator.get_config()["filters"] == 0  # the global filter, as measured
    contract.check_preset_contract(model)


@pytest.mark.slow
def test_a_cut_filter_run_trains_scores_explains_and_exports_any_size(tmp_path, monkeypatch):
    import json

    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.training.translation import train_translation
    from tests.training.test_translation_training import OUTPUTS

    monkeypatch.setenv("KERAS_STYLETRANSFER_CACHE", str(tmp_path / "cache"))
    config = TranslationConfig(
        family="cut",
        preset="cut_filter",
        styles=("watercolour",),
        image_size=32,
        filters=4,
        epochs=2,
        steps_per_epoch=2,
        batch_size=2,
        seed=3,
    )
    result = train_translation(config, str(tmp_path / "run"), verbose=0)
    run = tmp_path / "run"
    for name in OUTPUTS:
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert np.isfinite(metrics["styles"]["watercolour"]["crops"]["psnr"])
    trained = keras.saving.load_model(str(run / "final.keras"))
    assert trained.generator.filter_settings() == result.model.generator.filter_settings()
    # The served filter takes a photo of any shape, as the generator does, and gives the same.
    served = tf.saved_model.load(str(run / "exported" / "cut_watercolour" / "1"))
    photo = tf.constant(np.random.default_rng(0).uniform(-1, 1, (1, 37, 53, 3)), tf.float32)
    (served_output,) = served.signatures["serving_default"](photo).values()
    np.testing.assert_allclose(
        served_output.numpy(), result.model.generator(photo).numpy(), atol=1e-5
    )


def _row(layer, slot, **logits):
    """Put one style slot's settings at these logits."""
    for name, value in logits.items():
        weight = getattr(layer, name)
        values = weight.numpy()
        values[slot] = np.reshape(np.asarray(value, "float32"), (-1,)) / layer.setting_rate
        weight.assign(values)


def test_a_style_filter_generator_holds_one_filter_per_style_blended_and_weakened():
    generator = StyleFilterGenerator(num_styles=3)
    styled = generator.get_layer("styled")
    assert isinstance(styled, PhotoFilter) and styled.slots == 3
    photo = _photo()
    image = photo[None] * 2 - 1

    def render(style, strength=1.0):
        inputs = {
            "image": image,
            "style": np.array([style], "float32"),
            "strength": np.array([[strength]], "float32"),
        }
        return (generator(inputs).numpy()[0] + 1) / 2

    # Untrained, every style is nearly the photo.
    assert np.abs(render([1, 0, 0]) - photo).mean() < 0.01
    # Slot 0 greys, slot 1 lightens half way, slot 2 (the photo) does nothing.
    _row(styled, 0, **{**OFF, "grey": 60.0})
    _row(styled, 1, **{**OFF, "light": 0.0})
    _row(styled, 2, **OFF)
    luminance = np.repeat((photo @ np.array([0.299, 0.587, 0.114], "float32"))[..., None], 3, -1)
    np.testing.assert_allclose(render([1, 0, 0]), luminance, atol=1e-5)
    np.testing.assert_allclose(render([0, 1, 0]), (1 + photo) / 2, atol=1e-5)
    np.testing.assert_allclose(render([0, 0, 1]), photo, atol=1e-5)
    # A blend mixes the settings' logits, not the outputs: slots 1 and 2 half and half give a
    # light logit of (0 - 60) / 2 = -30, nearly no lightening, where mixing the two outputs
    # would lighten by a quarter.
    half_mixed = render([0, 0.5, 0.5])
    np.testing.assert_allclose(half_mixed, photo, atol=1e-5)
    assert np.abs(half_mixed - (photo + (1 + photo) / 2) / 2).max() > 0.05
    single = PhotoFilter()
    single.build(None)
    _set(single, **{**OFF, "grey": 0.0, "light": -30.0})  # the logits' mean of slots 0 and 1
    zeros = np.zeros((1, *photo.shape[:2], len(MAP_NAMES)), "float32")
    np.testing.assert_allclose(render([0.5, 0.5, 0]), _filtered(single, photo, zeros), atol=1e-5)
    # Strength: 0 is the input exactly, 0.5 half way to the style.
    np.testing.assert_array_equal(render([1, 0, 0], 0.0), (image[0] + 1) / 2)
    np.testing.assert_allclose(render([1, 0, 0], 0.5), (photo + luminance) / 2, atol=1e-5)
    assert generator.filter_settings(0)["grey"] == pytest.approx(1.0)
    assert generator.filter_settings(2)["grey"] < 1e-6


def test_the_multistyle_filter_preset_trains_each_style_s_filter():
    from keras_styletransfer.models.multistyle import MultiStyleGAN
    from keras_styletransfer.models.presets import get_translation_preset
    from tests.models import test_models as contract

    styles = ("pencil", "oil")
    model = get_translation_preset("multistyle_filter").build(16, 4, styles, seed=0)
    assert isinstance(model, MultiStyleGAN) and model.multitask and model.cycle_weight == 0.0
    assert model.identity_weight == [0.2, 1.0]  # oil's paintings are held closest
    assert isinstance(model.generator, StyleFilterGenerator)
    data = contract.check_preset_contract(model)
    model.compile(
        generator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        discriminator_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
    )
    styled = model.generator.get_layer("styled")
    before = styled.mix.numpy() * styled.setting_rate  # logits, a row per slot
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(2).repeat()
    history = model.fit(dataset, steps_per_epoch=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["g_loss"]).all()
    moved = np.abs(styled.mix.numpy() * styled.setting_rate - before).max(axis=1)
    # Each style's row moved by Adam's step (2e-4 x the rate of 100, 4 steps); the photo
    # slot, never rendered to here (no cycle), did not.
    assert moved[0] > 0.01 and moved[1] > 0.01 and moved[2] == 0.0
