"""Quality measures. For the noise GANs on digits: a small classifier trained on real digits judges
whether generated samples are recognisable, and how many digit classes they cover."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np

from keras_styletransfer.data.offline import load_offline_digits
from keras_styletransfer.images import to_model_range
from keras_styletransfer.seeding import seeded


def shuffled_batches(images, labels, batch_size, seed):
    """A `tf.data.Dataset` of `(images, labels)` batches, reshuffled every epoch from `seed`.

    `fit(x, y, shuffle=True)` on arrays shuffles with an unseeded TensorFlow op: its order
    would change from run to run, and under op determinism (`--deterministic`) it raises. An
    explicitly seeded shuffle gives the same order on every run, deterministic or not.
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    return dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)


def build_digit_classifier(seed=0):
    """A small CNN for 28x28x1 digits in [-1, 1] that outputs 10 logits, with weights drawn
    from `seed`."""
    with seeded(seed):
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
    batches = shuffled_batches(to_model_range(train_images), train_labels, 64, seed)
    with seeded(seed):  # dropout draws from `seed`; restored afterwards
        classifier.fit(batches, epochs=epochs, verbose=0, shuffle=False)
    _, accuracy = classifier.evaluate(to_model_range(test_images), test_labels, verbose=0)
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
    return _batched_features(inception_feature_model(weights_path, image_size))


def inception_feature_model(weights_path=None, image_size=299):
    """The Keras model behind `inception_feature_extractor`: images in [-1, 1] of any size ->
    (batch, 2048), resized inside; for `FrechetDistance` / `KernelDistance` metrics."""
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
    inception = keras.applications.InceptionV3(
        include_top=False, weights=path, pooling="avg", input_shape=(image_size, image_size, 3)
    )
    images = keras.Input((None, None, 3))
    # InceptionV3 expects [-1, 1] too (its `preprocess_input` maps [0, 255] there).
    resized = keras.layers.Resizing(image_size, image_size, interpolation="bilinear")(images)
    return keras.Model(images, inception(resized), name="inception_features")


def _batched_features(model):
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def features(batch):
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

    Its pooled layer ("features", 64-d) is the offline feature extractor for FID/KID. Weights
    are drawn from `seed`.
    """
    with seeded(seed):
        images = keras.Input((None, None, 3))
        x = images
        for index, filters in enumerate((16, 32, 64)):
            x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", name=f"conv{index + 1}")(
                x
            )
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
        batches = shuffled_batches(to_model_range(images), labels, batch_size, seed)
        with seeded(seed):
            classifier.fit(batches, epochs=epochs, verbose=0, shuffle=False)
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

    @property
    def feature_model(self):
        """The 64-d feature network, for `FrechetDistance` / `KernelDistance` metrics."""
        return self._features

    def keras_metrics(self, style=None, domain_names=None):
        """`[StyleScore, FrechetDistance, KernelDistance]` on this judge, for `compile(metrics=)`.

        Args:
            style: str or None. The intended style (pix2pix / CycleGAN); None for the
                multi-style model, whose `domain_names` are then required.
            domain_names: list of str or None. `MultiStyleGAN.domain_names`.
        """
        return [
            StyleScore(self.classifier, self.class_names, style=style, domain_names=domain_names),
            FrechetDistance(self._features),
            KernelDistance(self._features),
        ]

    def features(self, images):
        """64-d pooled features of images in [-1, 1]: the offline FID/KID extractor."""
        return self._features.predict(np.asarray(images, np.float32), batch_size=64, verbose=0)


# --- the same measures as Keras metrics, for `test_step` (EarlyStopping / ModelCheckpoint) -------


class ImageMetric(keras.metrics.Metric):
    """A Keras metric over (target images, generated images), updated in a wrapper's `test_step`.

    Pass instances to `compile(metrics=[...])` of `GAN`, `Pix2Pix`, `CycleGAN` or
    `MultiStyleGAN`: `evaluate` and `fit(validation_data=...)` then log them (as `val_<name>`),
    so `EarlyStopping(monitor="val_fid", mode="min")` or
    `ModelCheckpoint(monitor="val_style_score", mode="max")` can use them (give `mode`: Keras
    infers it only for metrics passed through its own compile). What "target" means per
    family: pix2pix the paired ground truth, CycleGAN the
    domain-B images (unpaired), the multi-style model the style images (with their indices),
    a noise GAN the real images. Subclasses implement `update_state(targets, generated,
    style_indices=None)`. They are not stored in a `.keras` file's compile config (they hold
    their own feature networks): pass them again to `compile` after loading.

    `is_image_metric` marks them for the wrappers' `compile`, which accepts them without
    importing this module.
    """

    is_image_metric = True


def _feature_dimension(feature_model):
    shape = getattr(feature_model, "output_shape", None) or tuple(feature_model.outputs[0].shape)
    dimension = shape[-1]
    if dimension is None or len(shape) != 2:
        raise ValueError(
            "the feature model must return (batch, D) features with a known D; its output "
            f"shape is {shape}. Use a model ending in global pooling (e.g. "
            "`StyleJudge(...).feature_model` or InceptionV3(pooling='avg'))."
        )
    return int(dimension)


def _matrix_sqrt_trace(cov_a, cov_b):
    """Tr((S_a S_b)^(1/2)) for symmetric PSD S_a, S_b, as Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2))."""
    import tensorflow as tf

    values, vectors = tf.linalg.eigh(cov_a)
    root_a = (vectors * tf.sqrt(tf.maximum(values, 0.0))[None, :]) @ tf.transpose(vectors)
    middle = root_a @ cov_b @ root_a
    middle = 0.5 * (middle + tf.transpose(middle))
    return tf.reduce_sum(tf.sqrt(tf.maximum(tf.linalg.eigvalsh(middle), 0.0)))


class FrechetDistance(ImageMetric):
    """Fréchet distance (FID on InceptionV3 features) streamed over evaluation batches.

    Sums, and sums of outer products, of the features of target and generated images are
    accumulated in float64 variables (summed over replicas under a distribution strategy), so
    the result over a whole evaluation equals `frechet_distance` on all the features at once.

    Args:
        feature_model: keras.Model. Images in [-1, 1] -> `(batch, D)` features.
        name: str. Defaults to "fid".
    """

    def __init__(self, feature_model, name="fid", **kwargs):
        super().__init__(name=name, **kwargs)
        self.feature_model = feature_model
        dimension = _feature_dimension(feature_model)
        self.sums = {}
        for side in ("target", "generated"):
            self.sums[side] = (
                self.add_variable((), "zeros", dtype="float64", name=f"{side}_count"),
                self.add_variable((dimension,), "zeros", dtype="float64", name=f"{side}_sum"),
                self.add_variable(
                    (dimension, dimension), "zeros", dtype="float64", name=f"{side}_outer"
                ),
            )

    def update_state(self, targets, generated, style_indices=None, sample_weight=None):
        import tensorflow as tf

        for side, images in (("target", targets), ("generated", generated)):
            features = tf.cast(self.feature_model(images, training=False), tf.float64)
            count, total, outer = self.sums[side]
            count.assign_add(tf.cast(tf.shape(features)[0], tf.float64))
            total.assign_add(tf.reduce_sum(features, axis=0))
            outer.assign_add(tf.matmul(features, features, transpose_a=True))

    def _moments(self, side):
        import tensorflow as tf

        count, total, outer = (tf.convert_to_tensor(v) for v in self.sums[side])
        mean = total / tf.maximum(count, 1.0)
        covariance = (outer - count * mean[:, None] * mean[None, :]) / tf.maximum(count - 1.0, 1.0)
        return mean, covariance

    def result(self):
        import tensorflow as tf

        mean_a, cov_a = self._moments("generated")
        mean_b, cov_b = self._moments("target")
        distance = (
            tf.reduce_sum(tf.square(mean_a - mean_b))
            + tf.linalg.trace(cov_a + cov_b)
            - 2.0 * _matrix_sqrt_trace(cov_a, cov_b)
        )
        return tf.cast(distance, tf.float32)

    def reset_state(self):
        for variables in self.sums.values():
            for variable in variables:
                variable.assign(keras.ops.zeros(variable.shape, variable.dtype))


class KernelDistance(ImageMetric):
    """KID streamed as the mean over evaluation batches of the unbiased squared MMD (cubic
    polynomial kernel) between each batch's target and generated features.

    The KID reference averages the estimate over random subsets of the two sets; here the
    subsets are the evaluation batches (each needs >= 2 images). The mean of unbiased estimates
    is unbiased, but with small batches it varies more than `kernel_distance` on all features.
    Under a distribution strategy each replica's share of a batch is one subset.

    Args:
        feature_model: keras.Model. Images in [-1, 1] -> `(batch, D)` features.
        name: str. Defaults to "kid".
    """

    def __init__(self, feature_model, name="kid", **kwargs):
        super().__init__(name=name, **kwargs)
        self.feature_model = feature_model
        self.dimension = _feature_dimension(feature_model)
        self.total = self.add_variable((), "zeros", dtype="float64", name="total")
        self.count = self.add_variable((), "zeros", dtype="float64", name="count")

    def update_state(self, targets, generated, style_indices=None, sample_weight=None):
        import tensorflow as tf

        a = tf.cast(self.feature_model(generated, training=False), tf.float64)
        b = tf.cast(self.feature_model(targets, training=False), tf.float64)

        def kernel(x, y):
            return (tf.matmul(x, y, transpose_b=True) / self.dimension + 1.0) ** 3

        m = tf.cast(tf.shape(a)[0], tf.float64)
        n = tf.cast(tf.shape(b)[0], tf.float64)
        k_aa, k_bb, k_ab = kernel(a, a), kernel(b, b), kernel(a, b)
        within_a = (tf.reduce_sum(k_aa) - tf.linalg.trace(k_aa)) / tf.maximum(m * (m - 1.0), 1.0)
        within_b = (tf.reduce_sum(k_bb) - tf.linalg.trace(k_bb)) / tf.maximum(n * (n - 1.0), 1.0)
        estimate = within_a + within_b - 2.0 * tf.reduce_mean(k_ab)
        usable = tf.cast((m >= 2.0) & (n >= 2.0), tf.float64)
        self.total.assign_add(usable * estimate)
        self.count.assign_add(usable)

    def result(self):
        import tensorflow as tf

        return tf.cast(self.total / tf.maximum(self.count, 1.0), tf.float32)


class StyleScore(ImageMetric):
    """Mean probability a style classifier gives the intended style to the generated images.

    Args:
        classifier: keras.Model. Images in [-1, 1] -> logits over `class_names` (e.g. a
            `StyleJudge`'s classifier).
        class_names: list of str. The classifier's classes.
        style: str or None. The intended style of every generated image (pix2pix, CycleGAN).
            None for the multi-style model: each image's style then comes from the
            `style_indices` that `MultiStyleGAN.test_step` passes, named by `domain_names`.
        domain_names: list of str or None. The multi-style model's domain names, so its style
            indices can be looked up among `class_names`. Defaults to `class_names`.
        name: str. Defaults to "style_score".
    """

    def __init__(
        self, classifier, class_names, style=None, domain_names=None, name="style_score", **kw
    ):
        super().__init__(name=name, **kw)
        self.classifier = classifier
        self.class_names = list(class_names)
        known = ", ".join(self.class_names)
        if style is not None and style not in self.class_names:
            raise ValueError(f"style {style!r} is not a class of the classifier ({known}).")
        self.style = style
        domain_names = list(domain_names or self.class_names)
        missing = [name for name in domain_names if name not in self.class_names]
        if missing:
            raise ValueError(f"domains {missing} are not classes of the classifier ({known}).")
        # Model domain index -> classifier class index.
        self.lookup = [self.class_names.index(name) for name in domain_names]
        self.total = self.add_variable((), "zeros", dtype="float64", name="total")
        self.count = self.add_variable((), "zeros", dtype="float64", name="count")

    def update_state(self, targets, generated, style_indices=None, sample_weight=None):
        import tensorflow as tf

        probabilities = tf.nn.softmax(
            tf.cast(self.classifier(generated, training=False), tf.float32), axis=-1
        )
        batch = tf.shape(probabilities)[0]
        if self.style is not None:
            classes = tf.fill([batch], self.class_names.index(self.style))
        elif style_indices is not None:
            classes = tf.gather(
                tf.constant(self.lookup, tf.int32), tf.cast(style_indices, tf.int32)
            )
        else:
            raise ValueError(
                "StyleScore without `style` needs per-image style indices; only the multi-style "
                "model passes them. Give `style=` for pix2pix / CycleGAN."
            )
        chosen = tf.gather(probabilities, classes, axis=1, batch_dims=1)
        self.total.assign_add(tf.cast(tf.reduce_sum(chosen), tf.float64))
        self.count.assign_add(tf.cast(batch, tf.float64))

    def result(self):
        import tensorflow as tf

        return tf.cast(self.total / tf.maximum(self.count, 1.0), tf.float32)
