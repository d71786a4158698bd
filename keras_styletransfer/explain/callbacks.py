"""Attribution callbacks for `fit`: Grad-CAM and SmoothGrad of D on freshly generated images.

tf-explain's callbacks act on `self.model`, which inside a GAN's `fit` is the wrapper, and need
the `tensorboard` package (DESIGN.md §3). These pick the wrapper's generator and discriminator
(`GAN`, `Pix2Pix`, `CycleGAN` (G: A -> B judged by D_B), `MultiStyleGAN`), generate G(x) from
fixed inputs at the end of every `every`-th epoch, explain D's realness of G(x) (a conditional
D judges [x, G(x)]), write a PNG grid (and TensorBoard images with `log_dir`), and add two
scalars to `logs`, so `History` and `EarlyStopping` see them:
  - `{prefix}_concentration`: mean share of the attribution mass in the top 10% of pixels
    (0.1 for a flat map, 1.0 when everything sits in a tenth of the image);
  - `{prefix}_drift`: 1 - the mean Spearman rank correlation of each map with the previous
    explained epoch's (0 on the first).
"""

from __future__ import annotations

import os

import keras
import numpy as np

from keras_styletransfer.errors import InputError


def concentration(maps, share=0.1):
    """Mean share of |map| mass held by the top `share` of pixels of each map."""
    flat = np.abs(np.asarray(maps, np.float64)).reshape(len(maps), -1)
    keep = max(1, round(float(share * flat.shape[1])))
    top = -np.sort(-flat, axis=1)[:, :keep].sum(axis=1)
    return float(np.mean(top / np.maximum(flat.sum(axis=1), 1e-12)))


def rank_correlation(first, second):
    """Mean Spearman rank correlation between paired maps (ties broken by position)."""
    values = []
    for a, b in zip(first, second, strict=True):
        ranks_a = np.argsort(np.argsort(a.ravel())).astype(np.float64)
        ranks_b = np.argsort(np.argsort(b.ravel())).astype(np.float64)
        if ranks_a.std() == 0 or ranks_b.std() == 0:
            values.append(0.0)
            continue
        values.append(float(np.corrcoef(ranks_a, ranks_b)[0, 1]))
    return float(np.mean(values))


class _AttributionCallback(keras.callbacks.Callback):
    method = "attribution"

    def __init__(
        self,
        inputs=None,
        output_dir=None,
        every=1,
        log_dir=None,
        prefix="explain",
        num_images=4,
        style=None,
        seed=0,
    ):
        super().__init__()
        if every < 1:
            raise InputError(f"every must be >= 1; received {every!r}.")
        self.inputs = None if inputs is None else np.asarray(inputs, np.float32)
        self.output_dir = output_dir
        self.every = every
        self.log_dir = log_dir
        self.prefix = prefix
        self.num_images = num_images
        self.style = style
        self.seed = seed
        self.previous_maps = None
        self.written = []
        self.history = []
        self._writer = None

    def _networks(self):
        from keras_styletransfer.explain.targets import unwrap_models

        found = unwrap_models(model=self.model)
        if found["generator"] is None or found["discriminator"] is None:
            raise InputError(
                f"{type(self).__name__} needs a GAN wrapper with a generator and a "
                f"discriminator; self.model is a {type(self.model).__name__}."
            )
        return found

    def _fixed_inputs(self, generator):
        if self.inputs is not None:
            return self.inputs
        shape = generator.inputs[0].shape
        if len(shape) != 2:
            raise InputError(
                f"{type(self).__name__}: pass inputs=... (content images) for an image-to-image "
                "model."
            )
        rng = np.random.default_rng(self.seed)
        self.inputs = rng.standard_normal((self.num_images, shape[-1])).astype(np.float32)
        return self.inputs

    def on_train_begin(self, logs=None):
        if self.log_dir and self._writer is None:
            import tensorflow as tf

            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, self.method))

    def compute_maps(self, target, images):
        raise NotImplementedError

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from keras_styletransfer.explain import render
        from keras_styletransfer.explain.attribution import generate
        from keras_styletransfer.explain.targets import _style_index, build_target, is_conditional

        found = self._networks()
        generator, discriminator = found["generator"], found["discriminator"]
        inputs = self._fixed_inputs(generator)
        style = _style_index(self.style, found["style_names"], "the model")
        generated = generate(generator, inputs, style)
        source = inputs if is_conditional(discriminator) else None
        target = build_target("realness", discriminator=discriminator, source=source)
        maps = self.compute_maps(target, generated)
        scores = {
            f"{self.prefix}_concentration": concentration(maps),
            f"{self.prefix}_drift": 0.0
            if self.previous_maps is None
            else 1.0 - rank_correlation(maps, self.previous_maps),
        }
        self.previous_maps = maps
        self.history.append(scores)
        if logs is not None:
            logs.update(scores)
        overlays = [render.overlay(image, m) for image, m in zip(generated, maps, strict=True)]
        if self.output_dir:
            rows = [
                [render.to_uint8(image), picture]
                for image, picture in zip(generated, overlays, strict=True)
            ]
            path = os.path.join(self.output_dir, f"{self.method}_epoch_{epoch + 1:03d}.png")
            self.written.append(render.save_grid(path, rows, ["G(x)", self.method]))
        if self._writer is not None:
            render.write_summary_images(self._writer, self.method, np.stack(overlays), epoch + 1)
            import tensorflow as tf

            with self._writer.as_default():
                for name, value in scores.items():
                    tf.summary.scalar(name, value, step=epoch + 1)
            self._writer.flush()


class GradCAMCallback(_AttributionCallback):
    """Grad-CAM of D's realness of G(x) every `every` epochs; see the module docstring.

    Args:
        inputs: array. Fixed content images (image-to-image) or noise (GAN); for a GAN,
            defaults to `num_images` seeded noise vectors.
        output_dir: str. Folder for PNG grids. Defaults to None (no files).
        layer_name: str. D's layer. Defaults to D's last spatial layer with channels > 1.
        every: int. Defaults to 1.
        log_dir: str. TensorBoard folder (images and scalars). Defaults to None.
        prefix: str. Prefix of the logged scalars. Defaults to "explain".
        num_images: int. Noise vectors for a GAN. Defaults to 4.
        style: str or int. Style rendered by a MultiStyleGAN. Defaults to the first.
        seed: int. Defaults to 0.
    """

    method = "grad_cam"

    def __init__(self, inputs=None, output_dir=None, layer_name=None, **kwargs):
        super().__init__(inputs, output_dir, **kwargs)
        self.layer_name = layer_name

    def compute_maps(self, target, images):
        from keras_styletransfer.explain.attribution import grad_cam
        from keras_styletransfer.explain.report import default_layer

        return grad_cam(target, images, self.layer_name or default_layer(target))


class SmoothGradCallback(_AttributionCallback):
    """SmoothGrad of D's realness score of G(x) (not a cross-entropy); see the module docstring.

    Args:
        inputs, output_dir, every, log_dir, prefix, num_images, style, seed: as
            `GradCAMCallback`.
        num_samples: int. Noisy copies per image. Defaults to 8.
        noise: float. Noise level relative to each image's range. Defaults to 0.15.
    """

    method = "smoothgrad"

    def __init__(self, inputs=None, output_dir=None, num_samples=8, noise=0.15, **kwargs):
        super().__init__(inputs, output_dir, **kwargs)
        self.num_samples = num_samples
        self.noise = noise

    def compute_maps(self, target, images):
        from keras_styletransfer.explain.attribution import explain

        return explain(
            "smoothgrad",
            target,
            images,
            num_samples=self.num_samples,
            noise=self.noise,
            seed=self.seed,
        )
