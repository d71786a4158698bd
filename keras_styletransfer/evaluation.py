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
from keras_styletransfer.validation import check_strength, style_weights


def translate(model, images, style=None, strength=1.0, batch_size=16):
    """Run a model's primary generator on uint8 images; returns float32 in [-1, 1].

    Args:
        model: keras.Model. A translation wrapper (its `primary_generator()` runs).
        images: uint8 array `(N, H, W, C)`.
        style: str, int, dict or sequence. For a generator with style slots
            (`generator_style_names`), the style or blend to render; ignored otherwise.
        strength: float in [0, 1]. Style strength: an input of a generator with style
            slots; any other generator's output is mixed with the photo
            (`serving.inference.blend_with_input`). Defaults to 1.0.
        batch_size: int. Defaults to 16.
    """
    from keras_styletransfer.serving.inference import blend_with_input

    strength = check_strength(strength)
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
        output = np.asarray(generator(inputs, training=False))
        if weights is None:
            output = blend_with_input(np.asarray(batch), output, strength)
        outputs.append(output)
    return np.concatenate(outputs)


# The held-out views `evaluate_on_held_out` scores: random crops at the training crop size, the
# whole photo with its long side at 256 px, and the whole photo at its native resolution (tiled).
EVALUATION_SIZES = ("crops", 256, "full")


def checkerboard_energy(image):
    """Period-2 ("checkerboard") energy of one image in [-1, 1]: the mean squared response of
    the 2x2 kernel [[1, -1], [-1, 1]] / 2 at every position, over channels.

    The kernel cancels flat areas, linear ramps and horizontal or vertical edges, and responds
    fully to a pixel-level checkerboard, the grid that strided transposed convolutions print.
    Natural images have some such energy (diagonal detail, texture), so compare an output's
    energy with the exact target's: `evaluate_on_held_out` reports the ratio.
    """
    image = np.asarray(image, np.float64)
    response = (image[:-1, :-1] - image[:-1, 1:] - image[1:, :-1] + image[1:, 1:]) / 2.0
    return float(np.mean(response**2))


def colour_offset(output, truth):
    """Mean colour of `output` minus that of `truth` (images in [-1, 1]), per channel, in
    levels of 0-255."""
    output, truth = np.asarray(output, np.float64), np.asarray(truth, np.float64)
    return ((output.mean(axis=(0, 1)) - truth.mean(axis=(0, 1))) * 127.5).tolist()


def score_outputs(outputs, truths, photos):
    """Compare outputs and the unchanged photos with the exact targets, image by image.

    Args:
        outputs, truths, photos: sequences of float images in [-1, 1] (each output the shape of
            its truth and photo; shapes may differ between images).

    Returns:
        dict: `count`; mean `ssim`, `psnr` of the outputs and `baseline_ssim`, `baseline_psnr`
        of the photos; `ssim_gap_closed` (of the means: 0 = no better than the photo, 1 =
        exact); `beats_photo` (images whose SSIM is above the photo's); `checkerboard_ratio`
        (median over images of the outputs' period-2 energy over the truth's,
        `checkerboard_energy`); `colour_offset` (mean RGB of outputs minus truth, 0-255 levels).
    """
    model_ssim, model_psnr, base_ssim, base_psnr, ratios, offsets = [], [], [], [], [], []
    for output, truth, photo in zip(outputs, truths, photos, strict=True):
        output, truth, photo = (
            tf.constant(np.asarray(i, np.float32)[None]) for i in (output, truth, photo)
        )
        model_ssim.append(float(image_ssim(truth, output)[0]))
        model_psnr.append(float(image_psnr(truth, output)[0]))
        base_ssim.append(float(image_ssim(truth, photo)[0]))
        base_psnr.append(float(image_psnr(truth, photo)[0]))
        truth_energy = checkerboard_energy(truth[0])
        ratios.append(checkerboard_energy(output[0]) / max(truth_energy, 1e-12))
        offsets.append(colour_offset(output[0], truth[0]))
    ssim, baseline = float(np.mean(model_ssim)), float(np.mean(base_ssim))
    return {
        "count": len(model_ssim),
        "ssim": ssim,
        "psnr": float(np.mean(model_psnr)),
        "baseline_ssim": baseline,
        "baseline_psnr": float(np.mean(base_psnr)),
        # Share of the distance from the unchanged photo to a perfect match (SSIM 1) that the
        # model closes: 0 = no better than the photo, 1 = exact.
        "ssim_gap_closed": (ssim - baseline) / max(1.0 - baseline, 1e-8),
        "beats_photo": int(np.sum(np.array(model_ssim) > np.array(base_ssim))),
        "checkerboard_ratio": float(np.median(ratios)),
        "colour_offset": np.mean(offsets, axis=0).round(2).tolist(),
    }


def _held_out_view(data, style, size):
    """(photos, exact targets) of one held-out view, uint8; see `EVALUATION_SIZES`."""
    if size == "crops":
        return list(data.test_crops), list(data.test_crop_targets[style])
    from keras_styletransfer.data.offline_photos import held_out_photos, held_out_targets

    long_side = None if size == "full" else int(size)
    photos = [image for _, image in held_out_photos(long_side)]
    return photos, held_out_targets(style, long_side)


def evaluate_on_held_out(
    model, config, data, sizes=EVALUATION_SIZES, max_tile_pixels=512 * 512, strength=1.0
):
    """SSIM / PSNR of a model and of the unchanged photo against the exact style, per style and
    per held-out view: the training-size crops, the whole photo at 256 px and at its native
    resolution (tiled like `stylize`, with the same blending at the seams).

    Args:
        model: keras.Model. A trained translation wrapper.
        config: TranslationConfig. Its `styles` are scored (each a style of `data`).
        data: OfflineStyleSet. Its held-out crops; the whole photos come from
            `data.offline_photos.held_out_photos` (the same held-out photos).
        sizes: sequence of "crops", an int long side, or "full". Defaults to
            `EVALUATION_SIZES`.
        max_tile_pixels: int. Tile size for large photos. Defaults to 512 * 512.
        strength: float in [0, 1]. The style strength the outputs are made at (`stylize`'s).
            Defaults to 1.

    Returns:
        `{style: {view: score_outputs(...)}}` with view "crops", "256" or "full".
    """
    from keras_styletransfer.serving.inference import Stylizer

    stylizer = Stylizer(
        model.primary_generator(),
        model.generator_style_names or None,
        max_tile_pixels=max_tile_pixels,
    )
    results = {}
    for style in config.styles:
        results[style] = {}
        for size in sizes:
            photos, truths = _held_out_view(data, style, size)
            outputs = stylizer(photos, style=style if stylizer.styled else None, strength=strength)
            results[style][str(size)] = score_outputs(
                outputs, [to_model_range(t) for t in truths], [to_model_range(p) for p in photos]
            )
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


def judge_on_held_out(model, config, data, epochs=6, strengths=(1.0,)):
    """Style score, FID and KID of held-out outputs, on the features of a `StyleJudge`.

    The judge is a small classifier trained here on the training style images of every style
    and on the training photos (class "photo"); InceptionV3 would need weights from the network.
    FID / KID compare the outputs on the held-out crops with the exact stylisation of those crops,
    on the judge's 64-d features: useful to compare models and styles here, not comparable to
    published FID values. The judge also learns an "other" class (noise, flat colours, noisy
    photos: `distractor_images`), so outputs that are neither photo nor style are not counted
    as the style. Rows: "model", "baseline" (the unchanged crops) and "exact_style" (the exact
    stylisation: the best a model can score); for each of `strengths` other than 1, a row
    "model at strength S" (the outputs at that style strength; one judge scores them all).
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
        rows = [
            (("model", 1.0) if s == 1.0 else (f"model at strength {s:g}", s)) for s in strengths
        ]
        rows = [(label, translate(model, data.test_crops, style, s)) for label, s in rows]
        rows += [("baseline", to_model_range(data.test_crops)), ("exact_style", exact)]
        for label, images in rows:
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
