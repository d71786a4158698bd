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
