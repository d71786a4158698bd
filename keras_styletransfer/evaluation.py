"""Scoring trained models: held-out SSIM / PSNR against exact stylisations, the style judge's
score, FID and KID, and the digit classifier's verdict on a noise GAN's samples.

Everything here reads a model through the wrappers' public contract (`primary_generator`,
`generator_style_names`), so any family is scored by the same code.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import tensorflow as tf

from keras_styletransfer.images import image_psnr, image_ssim, to_model_range, to_model_range_tf
from keras_styletransfer.validation import style_weights


def translate(model, images, style=None, strength=1.0, batch_size=16):
    """Run a model's primary generator on uint8 images; returns float32 in [-1, 1].

    Args:
        model: keras.Model. A translation wrapper (its `primary_generator()` runs).
        images: uint8 array `(N, H, W, C)`.
        style: str, int, dict or sequence. For a generator with style slots
            (`generator_style_names`), the style or blend to render; ignored otherwise.
        strength: float. Style strength for such a generator. Defaults to 1.0.
        batch_size: int. Defaults to 16.
    """
    generator = model.primary_generator()
    names = model.generator_style_names
    weights = None if not names else style_weights(style, names)
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = to_model_range_tf(images[start : start + batch_size])
        inputs = batch
        if weights is not None:
            count = tf.shape(batch)[0]
            inputs = {
                "image": batch,
                "style": tf.tile(tf.constant(weights, batch.dtype)[None], [count, 1]),
                "strength": tf.fill([count, 1], tf.cast(strength, batch.dtype)),
            }
        outputs.append(np.asarray(generator(inputs, training=False)))
    return np.concatenate(outputs)


def evaluate_on_held_out(model, config, data):
    """SSIM and PSNR on the held-out photos and crops, per style, with the identity baseline.

    Args:
        model: keras.Model. A trained translation wrapper.
        config: TranslationConfig. Its `styles` are scored.
        data: OfflineStyleSet. Held-out photos and their exact stylisations.

    Returns:
        `{style: {"photos" | "crops": {count, ssim, psnr, baseline_ssim, baseline_psnr,
        ssim_gap_closed}}}`.
    """
    results = {}
    for style in config.styles:
        entry = {}
        for part, content, truth in (
            ("photos", data.test_content, data.test_targets[style]),
            ("crops", data.test_crops, data.test_crop_targets[style]),
        ):
            if not len(content):
                continue
            outputs = translate(model, content, style=style)
            truth_unit, content_unit = to_model_range_tf(truth), to_model_range_tf(content)
            model_ssim = float(tf.reduce_mean(image_ssim(truth_unit, outputs)))
            base_ssim = float(tf.reduce_mean(image_ssim(truth_unit, content_unit)))
            entry[part] = {
                "count": len(content),
                "ssim": model_ssim,
                "psnr": float(tf.reduce_mean(image_psnr(truth_unit, outputs))),
                "baseline_ssim": base_ssim,
                "baseline_psnr": float(tf.reduce_mean(image_psnr(truth_unit, content_unit))),
                # Share of the distance from the unchanged photo to a perfect match (SSIM 1)
                # that the model closes: 0 = no better than the photo, 1 = exact.
                "ssim_gap_closed": (model_ssim - base_ssim) / max(1.0 - base_ssim, 1e-8),
            }
        results[style] = entry
    return results


OTHER_CLASS = "other"


def distractor_images(photos, seed=0):
    """uint8 images that are neither photos nor a style, as many as `photos`: white noise,
    smooth (low-frequency) noise, flat colours, and photos drowned in noise, a quarter each."""
    import cv2

    photos = np.asarray(photos)
    count, height, width, channels = photos.shape
    rng = np.random.default_rng(seed)
    kinds = np.arange(count) % 4
    images = np.empty_like(photos)
    for index, kind in enumerate(kinds):
        if kind == 0:
            image = rng.integers(0, 256, (height, width, channels))
        elif kind == 1:
            small = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), channels))
            image = cv2.resize(
                small.astype(np.uint8), (width, height), interpolation=cv2.INTER_CUBIC
            )
        elif kind == 2:
            image = np.broadcast_to(rng.integers(0, 256, (1, 1, channels)), photos.shape[1:])
        else:
            image = 0.4 * photos[index] + 0.6 * rng.integers(0, 256, photos.shape[1:])
        images[index] = np.clip(image, 0, 255).astype(np.uint8).reshape(photos.shape[1:])
    return images


def judge_on_held_out(model, config, data, epochs=6):
    """Style score, FID and KID of held-out outputs, on the features of a `StyleJudge`.

    The judge is a small classifier trained here on the training style images of every style
    and on the training photos (class "photo"); InceptionV3 would need weights from the network.
    FID / KID compare the outputs on the held-out crops with the exact stylisation of those crops,
    on the judge's 64-d features: useful to compare models and styles here, not comparable to
    published FID values. The judge also learns an "other" class (noise, flat colours, noisy
    photos: `distractor_images`), so outputs that are neither photo nor style are not counted
    as the style. Rows: "model", "baseline" (the unchanged crops) and "exact_style" (the exact
    stylisation: the best a model can score).
    """
    from keras_styletransfer.metrics import StyleJudge, frechet_distance, kernel_distance

    classes = {style: data.train_style[style] for style in config.styles}
    classes["photo"] = data.train_content
    # Without a class for "none of these", anything that is not a photo (an untrained model's
    # mush included) is called the style: a judge of one style and photos gave a 3-step model a
    # style score of 0.97. Images that are neither photos nor any style teach it that class.
    classes[OTHER_CLASS] = distractor_images(data.train_content, seed=config.seed)
    judge = StyleJudge.train(classes, epochs=epochs, seed=config.seed)
    results = {}
    for style in config.styles:
        exact = to_model_range(data.test_crop_targets[style])
        truth = judge.features(exact)
        entry = {}
        for label, images in (
            ("model", translate(model, data.test_crops, style=style)),
            ("baseline", to_model_range(data.test_crops)),
            ("exact_style", exact),
        ):
            features = judge.features(images)
            entry[label] = {
                "style_score": judge.style_score(images, style),
                "style_accuracy": judge.accuracy(images, style),
                "fid_judge_features": frechet_distance(features, truth),
                "kid_judge_features": kernel_distance(features, truth),
            }
        results[style] = entry
    return results


def measure_digit_quality(generator, num_samples=1000, seed=1):
    """Score `num_samples` of a noise generator's samples, and real held-out digits as the
    reference, with the digit classifier (`metrics.train_digit_classifier`)."""
    from keras_styletransfer.data.offline import load_offline_digits
    from keras_styletransfer.metrics import score_digits, train_digit_classifier

    classifier, test_accuracy = train_digit_classifier()
    noise = np.random.default_rng(seed).standard_normal(
        (num_samples, generator.inputs[0].shape[-1])
    )
    generated = generator.predict(noise.astype(np.float32), batch_size=256, verbose=0)
    real, _ = load_offline_digits("test")
    return {
        "classifier_test_accuracy": test_accuracy,
        "generated": dataclasses.asdict(score_digits(classifier, generated)),
        "real_test_digits": dataclasses.asdict(score_digits(classifier, to_model_range(real))),
    }
