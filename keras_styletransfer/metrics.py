"""Quality measures. For the noise GANs on digits: a small classifier trained on real digits judges
whether generated samples are recognisable, and how many digit classes they cover."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from keras_styletransfer.data.offline import load_offline_digits


def build_digit_classifier(seed=0):
    """A small CNN for 28x28x1 digits in [-1, 1] that outputs 10 logits."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10),
        ],
        name="digit_classifier",
    )


def train_digit_classifier(epochs=8, seed=0):
    """Train the judge on the offline digits' train split; return it and its held-out accuracy.

    Returns:
        `(classifier, test_accuracy)`; the test split (1,000 digits) is never trained on.
    """
    train_images, train_labels = load_offline_digits("train")
    test_images, test_labels = load_offline_digits("test")
    classifier = build_digit_classifier(seed)
    classifier.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    classifier.fit(
        train_images / 127.5 - 1.0, train_labels, epochs=epochs, batch_size=64, verbose=0
    )
    _, accuracy = classifier.evaluate(test_images / 127.5 - 1.0, test_labels, verbose=0)
    return classifier, float(accuracy)


@dataclasses.dataclass(frozen=True)
class DigitQuality:
    """How recognisable a batch of digit images is to the judge.

    Attributes:
        recognisable_fraction: float. Share of images the judge classifies with probability
            above `confidence` (a confident verdict on one digit).
        classes_covered: int. Distinct digits among the confident verdicts (mode collapse shows
            as few).
        class_counts: list of int. Confident verdicts per digit 0-9.
        mean_confidence: float. Mean top probability.
        confidence: float. The threshold used.
        num_images: int.
    """

    recognisable_fraction: float
    classes_covered: int
    class_counts: list
    mean_confidence: float
    confidence: float
    num_images: int


def score_digits(classifier, images, confidence=0.9):
    """Judge images `(N, 28, 28, 1)` in [-1, 1] with a digit classifier.

    Args:
        classifier: keras.Model returning 10 logits.
        images: array in [-1, 1].
        confidence: float. Top probability needed to count as recognisable. Defaults to 0.9.

    Returns:
        A `DigitQuality`.
    """
    images = np.asarray(images, dtype=np.float32)
    logits = classifier.predict(images, batch_size=256, verbose=0)
    probabilities = keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))
    top = probabilities.max(axis=1)
    confident = top > confidence
    counts = np.bincount(probabilities.argmax(axis=1)[confident], minlength=10)
    return DigitQuality(
        recognisable_fraction=float(confident.mean()),
        classes_covered=int((counts > 0).sum()),
        class_counts=[int(c) for c in counts],
        mean_confidence=float(top.mean()),
        confidence=confidence,
        num_images=len(images),
    )


# --- distribution distances for image-to-image models --------------------------------------------

INCEPTION_NOTOP_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


def frechet_distance(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (FID when the features are
    InceptionV3's pool features): |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)).

    Args:
        features_a, features_b: arrays `(N, D)`, N >= 2.

    Returns:
        float.

    References:
        Heusel et al., "GANs Trained by a Two Time-Scale Update Rule...", 2017.
    """
    from scipy import linalg

    a, b = _check_features(features_a, features_b, minimum=2)
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    root, _ = linalg.sqrtm(cov_a @ cov_b, disp=False)
    if not np.all(np.isfinite(root)):  # singular product: regularise as the reference does
        offset = np.eye(len(cov_a)) * 1e-6
        root = linalg.sqrtm((cov_a + offset) @ (cov_b + offset))
    root = np.real(root)
    return float(np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2.0 * root))


def kernel_distance(features_a, features_b):
    """Unbiased squared MMD with the cubic polynomial kernel k(x, y) = (x.y / D + 1)^3 (KID when
    the features are InceptionV3's). Near 0 for samples of one distribution; may be slightly
    negative.

    References:
        Binkowski et al., "Demystifying MMD GANs", 2018.
    """
    a, b = _check_features(features_a, features_b, minimum=2)
    dimension = a.shape[1]

    def kernel(x, y):
        return (x @ y.T / dimension + 1.0) ** 3

    k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
    m, n = len(a), len(b)
    within_a = (k_aa.sum() - np.trace(k_aa)) / (m * (m - 1))
    within_b = (k_bb.sum() - np.trace(k_bb)) / (n * (n - 1))
    return float(within_a + within_b - 2.0 * k_ab.mean())


def _check_features(features_a, features_b, minimum):
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(
            f"features must be two (N, D) arrays of one D; received {a.shape} and {b.shape}."
        )
    if len(a) < minimum or len(b) < minimum:
        raise ValueError(
            f"need at least {minimum} feature vectors per set; got {len(a)}, {len(b)}."
        )
    return a, b


def inception_feature_extractor(weights_path=None, image_size=299):
    """InceptionV3 pool features (2048-d) of images in [-1, 1], from a weights file on disk.

    The package never downloads: the ImageNet "notop" weights must already be on disk, either at
    `weights_path` or where Keras caches them (`~/.keras/models/` + `INCEPTION_NOTOP_FILE`, which
    `keras.applications.InceptionV3(include_top=False)` writes on a machine with network).

    Args:
        weights_path: str. The `.h5` weights file. Defaults to Keras' cache location.
        image_size: int. Images are resized to this side. Defaults to 299.

    Returns:
        A function `images -> (N, 2048) numpy array`.
    """
    import os

    from keras_styletransfer.errors import DataSourceError

    path = weights_path or os.path.join(
        os.path.expanduser("~"), ".keras", "models", INCEPTION_NOTOP_FILE
    )
    if not os.path.isfile(path):
        raise DataSourceError(
            f"InceptionV3 weights not found at {path}; FID/KID with Inception features need "
            f"them. On a machine with network run `keras.applications.InceptionV3(include_top="
            f"False)` once and copy ~/.keras/models/{INCEPTION_NOTOP_FILE} here, or pass "
            "feature_extractor='style_classifier' for the package's own (documented) features."
        )
    model = keras.applications.InceptionV3(
        include_top=False, weights=path, pooling="avg", input_shape=(image_size, image_size, 3)
    )
    return _batched_features(model, image_size)


def _batched_features(model, image_size=None):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def features(batch):
        if image_size:
            batch = tf.image.resize(batch, (image_size, image_size), method="bilinear")
        return model(batch, training=False)

    def extract(images, batch_size=32):
        images = np.asarray(images, dtype=np.float32)
        return np.concatenate(
            [
                np.asarray(features(images[i : i + batch_size]))
                for i in range(0, len(images), batch_size)
            ]
        )

    return extract


# --- style classifier: the style score and the offline feature extractor -----------------------


def build_style_classifier(num_classes, seed=0):
    """A small CNN over images in [-1, 1] of any size: conv trunk, global pool, logits.

    Its pooled layer ("features", 64-d) is the offline feature extractor for FID/KID.
    """
    keras.utils.set_random_seed(seed)
    images = keras.Input((None, None, 3))
    x = images
    for index, filters in enumerate((16, 32, 64)):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", name=f"conv{index + 1}")(x)
        x = keras.layers.LeakyReLU(0.2)(x)
    features = keras.layers.GlobalAveragePooling2D(name="features")(x)
    logits = keras.layers.Dense(num_classes, name="logits")(features)
    return keras.Model(images, logits, name="style_classifier")


class StyleJudge:
    """A style classifier trained on the style domains (and photos), and what it measures.

    Args:
        class_names: list of str. The domains, e.g. ["pencil", "watercolour", "cartoon", "photo"].
        classifier: keras.Model. Trained classifier returning logits over `class_names`.
    """

    def __init__(self, class_names, classifier):
        self.class_names = list(class_names)
        self.classifier = classifier
        self._features = keras.Model(classifier.inputs, classifier.get_layer("features").output)

    @classmethod
    def train(cls, images_by_class, epochs=6, seed=0, batch_size=64):
        """Train on `{name: uint8 images (N, H, W, 3)}`; returns a StyleJudge."""
        names = list(images_by_class)
        images = np.concatenate([np.asarray(images_by_class[n]) for n in names])
        labels = np.concatenate([np.full(len(images_by_class[n]), i) for i, n in enumerate(names)])
        classifier = build_style_classifier(len(names), seed=seed)
        classifier.compile(
            optimizer=keras.optimizers.Adam(2e-3),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        order = np.random.default_rng(seed).permutation(len(images))
        classifier.fit(
            images[order].astype(np.float32) / 127.5 - 1.0,
            labels[order],
            epochs=epochs,
            batch_size=batch_size,
            verbose=0,
        )
        return cls(names, classifier)

    def probabilities(self, images):
        logits = self.classifier.predict(np.asarray(images, np.float32), batch_size=64, verbose=0)
        return keras.ops.convert_to_numpy(keras.ops.softmax(logits, axis=-1))

    def style_score(self, images, style):
        """Mean probability the judge gives `style` on images in [-1, 1] (1 = fully that style)."""
        return float(self.probabilities(images)[:, self.class_names.index(style)].mean())

    def accuracy(self, images, style):
        """Share of images the judge classifies as `style`."""
        predicted = self.probabilities(images).argmax(axis=1)
        return float((predicted == self.class_names.index(style)).mean())

    def features(self, images):
        """64-d pooled features of images in [-1, 1]: the offline FID/KID extractor."""
        return self._features.predict(np.asarray(images, np.float32), batch_size=64, verbose=0)
