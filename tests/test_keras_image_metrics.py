"""FID, KID and style score as Keras metrics in the wrappers' test_step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_styletransfer.metrics import (
    FrechetDistance,
    KernelDistance,
    StyleScore,
    frechet_distance,
    kernel_distance,
)
from keras_styletransfer.models.discriminators import (
    GlobalPoolDiscriminator,
    PatchGANDiscriminator,
)
from keras_styletransfer.models.generators import StyleGenerator, UNetGenerator
from keras_styletransfer.models.multistyle import MultiStyleGAN
from keras_styletransfer.models.pix2pix import Pix2Pix


def feature_model(dimension=6, seed=0):
    keras.utils.set_random_seed(seed)
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(dimension, 3, strides=2, activation="tanh")(images)
    return keras.Model(images, keras.layers.GlobalAveragePooling2D()(x))


def classifier(num_classes, seed=1):
    keras.utils.set_random_seed(seed)
    images = keras.Input((None, None, 3))
    x = keras.layers.Conv2D(4, 3, strides=2)(images)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(images, keras.layers.Dense(num_classes)(x))


def images(count, seed, size=16, shift=0.0):
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(shift, 0.5, (count, size, size, 3)), -1, 1).astype("float32")


def test_streamed_fid_equals_fid_on_all_features_at_once():
    features = feature_model()
    metric = FrechetDistance(features)
    targets, generated = images(40, 0), images(40, 1, shift=0.3)
    for start in range(0, 40, 8):  # five batches
        metric.update_state(targets[start : start + 8], generated[start : start + 8])
    expected = frechet_distance(np.asarray(features(generated)), np.asarray(features(targets)))
    assert float(metric.result()) == pytest.approx(expected, rel=1e-4)
    assert expected > 0.01  # the two sets really differ
    metric.reset_state()
    metric.update_state(targets, targets)
    assert abs(float(metric.result())) < 1e-4


def test_streamed_kid_is_the_mean_of_per_batch_unbiased_estimates():
    features = feature_model()
    metric = KernelDistance(features)
    targets, generated = images(24, 2), images(24, 3, shift=0.4)
    expected = []
    for start in range(0, 24, 8):
        t, g = targets[start : start + 8], generated[start : start + 8]
        metric.update_state(t, g)
        expected.append(kernel_distance(np.asarray(features(g)), np.asarray(features(t))))
    assert float(metric.result()) == pytest.approx(float(np.mean(expected)), rel=1e-4, abs=1e-7)
    metric.update_state(targets[:1], generated[:1])  # a batch of one cannot be estimated
    assert float(metric.result()) == pytest.approx(float(np.mean(expected)), rel=1e-4, abs=1e-7)


def test_style_score_for_one_style_and_per_image_styles():
    judge = classifier(3)
    generated = images(10, 4)
    probabilities = np.asarray(tf.nn.softmax(judge(generated), axis=-1))
    names = ["cartoon", "pencil", "photo"]
    fixed = StyleScore(judge, names, style="pencil")
    fixed.update_state(None, generated)
    assert float(fixed.result()) == pytest.approx(probabilities[:, 1].mean(), rel=1e-5)
    # A multi-style model names its domains in another order: indices go through the names.
    per_image = StyleScore(judge, names, domain_names=["pencil", "cartoon", "photo"])
    indices = np.array([0, 1] * 5)
    per_image.update_state(None, generated, style_indices=indices)
    chosen = np.where(indices == 0, probabilities[:, 1], probabilities[:, 0])
    assert float(per_image.result()) == pytest.approx(chosen.mean(), rel=1e-5)
    with pytest.raises(ValueError, match="not a class"):
        StyleScore(judge, names, style="oil")
    with pytest.raises(ValueError, match="style indices"):
        StyleScore(judge, names).update_state(None, generated)


def tiny_pix2pix(metrics):
    model = Pix2Pix(
        UNetGenerator(num_downsamplings=2, filters=4, max_filters=8),
        PatchGANDiscriminator(num_layers=1, filters=4, conditional=True),
        seed=0,
    )
    model.compile(metrics=metrics)
    return model


def test_pix2pix_logs_fid_kid_and_style_score_for_validation_and_callbacks(tmp_path):
    features, judge = feature_model(), classifier(2)
    model = tiny_pix2pix(
        [
            FrechetDistance(features),
            KernelDistance(features),
            StyleScore(judge, ["photo", "pencil"], style="pencil"),
        ]
    )
    source, target = images(16, 5), images(16, 6, shift=0.2)
    checkpoint = keras.callbacks.ModelCheckpoint(
        str(tmp_path / "best.weights.h5"),
        monitor="val_fid",
        mode="min",
        save_best_only=True,
        save_weights_only=True,
    )
    history = model.fit(
        source,
        target,
        validation_data=(source, target),
        batch_size=8,
        epochs=2,
        verbose=0,
        callbacks=[
            checkpoint,
            keras.callbacks.EarlyStopping(monitor="val_kid", mode="min", patience=5),
        ],
    ).history
    for key in ("val_fid", "val_kid", "val_style_score"):
        assert len(history[key]) == 2 and np.all(np.isfinite(history[key]))
    assert "fid" not in history  # training batches do not update them
    assert (tmp_path / "best.weights.h5").exists()

    results = model.evaluate(source, target, batch_size=8, verbose=0, return_dict=True)
    generated = np.asarray(model.generator(source, training=False))
    expected_fid = frechet_distance(np.asarray(features(generated)), np.asarray(features(target)))
    assert results["fid"] == pytest.approx(expected_fid, rel=1e-3)
    probabilities = np.asarray(tf.nn.softmax(judge(generated), axis=-1))
    assert results["style_score"] == pytest.approx(probabilities[:, 1].mean(), rel=1e-4)


def test_multistyle_style_score_uses_each_images_style():
    judge = classifier(3)
    model = MultiStyleGAN(
        StyleGenerator(num_styles=3, filters=4, num_residual_blocks=1),
        GlobalPoolDiscriminator(filters=4, num_styles=3, num_layers=2),
        style_names=["pencil", "cartoon"],
        seed=0,
    )
    model.compile(
        metrics=[StyleScore(judge, ["cartoon", "pencil", "photo"], domain_names=model.domain_names)]
    )
    content, styled = images(8, 7), images(8, 8)
    indices = np.array([0, 1, 0, 1, 1, 0, 0, 1], dtype="int32")
    results = model.evaluate((content, styled, indices), batch_size=8, verbose=0, return_dict=True)
    rendered = np.asarray(model.render(tf.constant(content), tf.constant(indices), 1.0))
    probabilities = np.asarray(tf.nn.softmax(judge(rendered), axis=-1))
    judge_class = np.where(indices == 0, 1, 0)  # pencil is the judge's class 1, cartoon 0
    expected = probabilities[np.arange(8), judge_class].mean()
    assert results["style_score"] == pytest.approx(expected, rel=1e-4)


def test_compile_rejects_metrics_that_are_not_image_metrics():
    with pytest.raises(TypeError, match="image metrics"):
        tiny_pix2pix(["accuracy"])
    features = feature_model()
    with pytest.raises(ValueError, match="unique"):
        tiny_pix2pix([FrechetDistance(features), FrechetDistance(features)])
