"""The explain callbacks for `fit`: attributions of D on generated images, and gradient flow.

`GradientFlow` records the gradients of G's and D's losses on a fixed probe (the maths is in
`explain.gradients`, the figures in `explain.render`) and warns when they are unhealthy.

Attribution callbacks: Grad-CAM and SmoothGrad of D on freshly generated images.

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

import csv
import json
import math
import os

import keras
import numpy as np
import tensorflow as tf

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import gradients, render
from keras_styletransfer.explain.gradients import FLAG_KEYS
from keras_styletransfer.images import as_rgb_uint8
from keras_styletransfer.validation import (
    check_positive_int,
)

# What goes into the epoch's `logs` (the probe's own accuracy and logits stay in `checks`: the
# wrappers already log `d_fake_accuracy` and `fake_logits_mean` of the training batches).
LOG_KEYS = (
    "grad_norm_generator",
    "grad_norm_discriminator",
    "grad_norm_generator_adversarial",
    "grad_ratio",
    "adversarial_signal",
)


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
        self.every = check_positive_int(every, "every")
        self.inputs = None if inputs is None else np.asarray(inputs, np.float32)
        self.output_dir = output_dir
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
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, self.method))

    def compute_maps(self, target, images):
        raise NotImplementedError

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every:
            return
        from keras_styletransfer.explain.attribution import generate
        from keras_styletransfer.explain.targets import _style_index, build_target, condition_for

        found = self._networks()
        generator, discriminator = found["generator"], found["discriminator"]
        inputs = self._fixed_inputs(generator)
        style = _style_index(self.style, found["style_names"], "the model")
        generated = generate(generator, inputs, style)
        source = condition_for(found, inputs, style)
        target = build_target("realness", discriminator=discriminator, source=source, style=style)
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
                [as_rgb_uint8(image), picture]
                for image, picture in zip(generated, overlays, strict=True)
            ]
            path = os.path.join(self.output_dir, f"{self.method}_epoch_{epoch + 1:03d}.png")
            self.written.append(render.save_grid(path, rows, ["G(x)", self.method]))
        if self._writer is not None:
            render.write_summary_images(self._writer, self.method, np.stack(overlays), epoch + 1)
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


# --- gradient flow ---------------------------------------------------------------------------


def _finite(rows):
    """Rows with NaN / infinite numbers as None, so the JSON file is standard JSON."""
    return [
        {
            key: (None if isinstance(value, float) and not math.isfinite(value) else value)
            for key, value in row.items()
        }
        for row in rows
    ]


class GradientFlow(keras.callbacks.Callback):
    """Record and draw the gradients of G's and D's losses during `fit`, and warn when unhealthy.

    Every `every` training steps (and at train begin and every epoch end) one compiled function
    differentiates the model's own losses on a fixed probe batch (see the module docstring).
    Results:

    - `checks`: one dict per check (`step`, `epoch`, `g_loss`, `d_loss`, `grad_norm_generator`,
      `grad_norm_discriminator`, `grad_norm_generator_adversarial`, `grad_ratio` (G / D),
      `adversarial_signal`, `d_fake_accuracy`, `fake_logits_mean`, and the three flags).
    - `records`: one dict per check and layer (`grad_norm`, `grad_mean_abs`, `grad_max_abs`,
      `weight_norm`, `update_ratio` = ||W after the next step - W|| / ||W||, `parameters`).
    - Files in `output_dir`: `gradient_flow.csv` (the records), `gradient_flow.json` (checks
      and records), and per epoch `gradient_flow_epoch_NNN.png`,
      `gradient_histograms_epoch_NNN.png`, `gradient_heatmaps_epoch_NNN.png` (with
      `heatmaps=True`), `layer_gradients_epoch_NNN.png` (with `layer_names`); at train end
      `gradient_norms.png`.
    - `logs` at each epoch end (the epoch's last check): `grad_norm_generator`,
      `grad_norm_discriminator`, `grad_norm_generator_adversarial`, `grad_ratio`,
      `adversarial_signal`, and the flags
      `gradients_vanishing`, `gradients_exploding`, `discriminator_saturated` (1.0 when the
      condition held at any check of the epoch). Put this callback before `EarlyStopping` /
      `ModelCheckpoint` that monitor them.
    - With `log_dir`: TensorBoard scalars (totals and per-layer norms) and per-layer gradient
      histograms at every check, under `log_dir/gradients`.

    Warnings (`warnings.warn`, once per onset):
    - `VanishingGradientWarning`: a network's total gradient norm below `vanishing_threshold` for
      `patience` consecutive checks.
    - `ExplodingGradientWarning`: above `exploding_threshold`, or NaN / infinite.
    - `DiscriminatorSaturationWarning`: for `patience` consecutive checks D calls at least
      `saturation_accuracy` of the probe's fakes fake and the adversarial signal
      mean |dL_G / dD(G(x))| is below `starvation_threshold`, so G's adversarial gradient has
      collapsed (the minimax loss does this; the non-saturating loss exists to avoid it).

    Args:
        output_dir: str. Folder for the files. Defaults to None (memory and logs only).
        probe_data: a batch shaped as `fit` receives it, or a `tf.data.Dataset` (its first batch
            is taken at train begin). Required.
        probe_size: int. Probe examples. Defaults to 8.
        every: int. Steps between checks. Defaults to 10.
        training: bool. Run the networks in training mode on the probe (state restored).
            Defaults to False.
        heatmaps: bool. Save per-pixel gradient heatmaps each epoch. Defaults to True.
        layer_names: dict `{"generator": [...], "discriminator": [...]}` for layer slices.
            Defaults to None.
        plot_every: int. Epochs between figures. Defaults to 1.
        log_dir: str. TensorBoard folder. Defaults to None.
        vanishing_threshold: float. Defaults to 1e-6.
        exploding_threshold: float. Defaults to 1e3.
        patience: int. Consecutive checks for the vanishing and saturation warnings.
            Defaults to 3.
        saturation_accuracy: float. Defaults to 0.99.
        starvation_threshold: float. Defaults to 1e-3.
        seed: int. Seed of a GAN probe's noise. Defaults to 0.

    Example:
        >>> flow = GradientFlow("runs/gradients", probe_data=dataset, every=50)
        >>> gan.fit(dataset, epochs=5, callbacks=[flow, keras.callbacks.EarlyStopping(
        ...     monitor="grad_norm_generator", mode="max", patience=2)])

    References:
        The widely used `plot_grad_flow` recipe (per-layer mean / max |gradient|), gradient
        heatmaps and distributions; Arjovsky & Bottou, "Towards Principled Methods for
        Training GANs", 2017 (D saturation starves G under the minimax loss).
    """

    def __init__(
        self,
        output_dir=None,
        probe_data=None,
        probe_size=8,
        every=10,
        training=False,
        heatmaps=True,
        layer_names=None,
        plot_every=1,
        log_dir=None,
        vanishing_threshold=1e-6,
        exploding_threshold=1e3,
        patience=3,
        saturation_accuracy=0.99,
        starvation_threshold=1e-3,
        seed=0,
    ):
        super().__init__()
        self.output_dir = output_dir
        self.probe_data = probe_data
        self.probe_size = probe_size
        self.every = check_positive_int(every, "`every`")
        self.training = bool(training)
        self.heatmaps = bool(heatmaps)
        if layer_names is not None and not isinstance(layer_names, dict):
            raise InputError(
                "`layer_names` must be a dict {'generator': [names], 'discriminator': [names]}; "
                f"received {layer_names!r}."
            )
        self.layer_names = layer_names
        self.plot_every = check_positive_int(plot_every, "`plot_every`")
        self.log_dir = log_dir
        self.health = gradients.GradientHealth(
            vanishing_threshold,
            exploding_threshold,
            patience,
            saturation_accuracy,
            starvation_threshold,
        )
        self.seed = seed
        self.checks = []
        self.records = []
        self.written = []
        self.probe = None
        self._function = None
        self._layout = None
        self._writer = None

    # --- set-up ---------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        model = self.model
        if self.probe is None:
            self.probe = gradients.make_probe(model, self.probe_data, self.probe_size, self.seed)
        self._probe_tensors = gradients.probe_tensors(model, self.probe)
        self._function, self._layout = gradients.build_gradient_function(model, self.training)
        self._heatmap_function = None
        self._layer_function = None
        if self.layer_names:
            layers = gradients.resolve_gradient_layers(model, self.layer_names)
            self._layer_function = tf.function(
                lambda probe: gradients.layer_gradients(model, probe, layers)
            )
        if self.heatmaps:
            self._heatmap_function = tf.function(
                lambda probe: gradients.input_gradients(model, probe)
            )
        self._step = 0
        self._epoch = 0
        self._last_check_step = None
        self._pending_update = None
        self._epoch_flags = dict.fromkeys(FLAG_KEYS, 0.0)
        self.health.reset()
        if self.log_dir and self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "gradients"))
        self._check()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._epoch_flags = dict.fromkeys(FLAG_KEYS, 0.0)

    # --- the checks -----------------------------------------------------------------------------

    def on_train_batch_end(self, batch, logs=None):
        self._step += 1
        self._fill_update_ratio()
        if self._step % self.every == 0:
            self._check()

    def _fill_update_ratio(self):
        if self._pending_update is None:
            return
        records, snapshot = self._pending_update
        self._pending_update = None
        by_layer = {}
        variables = self._layout.variables["generator"] + self._layout.variables["discriminator"]
        keys = [("generator", k) for k in self._layout.layers["generator"]] + [
            ("discriminator", k) for k in self._layout.layers["discriminator"]
        ]
        for variable, old, key in zip(variables, snapshot, keys, strict=True):
            change = np.asarray(variable.numpy(), np.float64) - old
            by_layer.setdefault(key, []).append(float(np.sum(change * change)))
        for record in records:
            changed = math.sqrt(sum(by_layer[(record["network"], record["layer"])]))
            weight = record["weight_norm"]
            record["update_ratio"] = changed / weight if weight > 0 else math.inf

    def _check(self):
        raw = self._function(self._probe_tensors)
        totals, rows = gradients.summarize(raw, self._layout)
        check = {"step": self._step, "epoch": self._epoch + 1, **totals}
        check.update(self.health.update(totals, self._step))
        for flag in FLAG_KEYS:
            self._epoch_flags[flag] = max(self._epoch_flags[flag], check[flag])
        for row in rows:
            row.update(step=self._step, epoch=self._epoch + 1, update_ratio=math.nan)
        self.checks.append(check)
        self.records.extend(rows)
        self._last_check_step = self._step
        self._last_raw = raw
        variables = self._layout.variables["generator"] + self._layout.variables["discriminator"]
        self._pending_update = (rows, [np.asarray(v.numpy(), np.float64) for v in variables])
        if self._writer is not None:
            self._summaries(check, rows, raw)

    def _summaries(self, check, rows, raw):
        with self._writer.as_default(step=check["step"]):
            for key in gradients.CHECK_KEYS:
                if math.isfinite(check[key]):
                    tf.summary.scalar(f"gradients/{key}", check[key])
            for row in rows:
                tf.summary.scalar(
                    f"gradient_norm/{row['network']}/{row['layer']}", row["grad_norm"]
                )
            for role in gradients.NETWORKS:
                for layer, values in self._layer_gradients(raw, role):
                    tf.summary.histogram(f"gradient/{role}/{layer}", values)
        self._writer.flush()

    def _layer_gradients(self, raw, role):
        grouped = {}
        for gradient, layer in zip(
            raw[f"{role}_gradients"], self._layout.layers[role], strict=True
        ):
            grouped.setdefault(layer, []).append(np.asarray(gradient).ravel())
        return [(layer, np.concatenate(parts)) for layer, parts in grouped.items()]

    # --- per epoch ------------------------------------------------------------------------------

    def on_epoch_end(self, epoch, logs=None):
        if self._last_check_step != self._step:
            self._check()
        check = self.checks[-1]
        if logs is not None:
            for key in LOG_KEYS:
                logs[key] = check[key]
            logs.update(self._epoch_flags)
        if self.output_dir:
            self._write_tables()
            if (epoch + 1) % self.plot_every == 0:
                self._figures(epoch + 1)

    def _figures(self, epoch):
        directory = self.output_dir
        rows = [r for r in self.records if r["step"] == self._last_check_step]
        title = f"epoch {epoch}, step {self._last_check_step}"
        self.written.append(
            render.plot_gradient_flow(
                rows, os.path.join(directory, f"gradient_flow_epoch_{epoch:03d}.png"), title
            )
        )
        distributions = {
            role: self._layer_gradients(self._last_raw, role) for role in gradients.NETWORKS
        }
        self.written.append(
            render.plot_gradient_distributions(
                distributions,
                os.path.join(directory, f"gradient_histograms_epoch_{epoch:03d}.png"),
                title,
            )
        )
        if self._heatmap_function is not None:
            maps = gradients.input_gradient_maps(
                self.model, self.probe, function=self._heatmap_function
            )
            self.written.append(
                render.save_gradient_heatmaps(
                    maps,
                    os.path.join(directory, f"gradient_heatmaps_epoch_{epoch:03d}.png"),
                    title=title,
                )
            )
        if self._layer_function is not None:
            maps = gradients.layer_gradient_maps(
                self.model, self.probe, self.layer_names, function=self._layer_function
            )
            self.written.append(
                render.save_layer_gradient_maps(
                    maps,
                    os.path.join(directory, f"layer_gradients_epoch_{epoch:03d}.png"),
                    title=title,
                )
            )

    def _write_tables(self):
        os.makedirs(self.output_dir, exist_ok=True)
        fields = [
            "step",
            "epoch",
            "network",
            "layer",
            "parameters",
            "grad_norm",
            "grad_mean_abs",
            "grad_max_abs",
            "weight_norm",
            "update_ratio",
            "adversarial_grad_norm",
        ]
        path = os.path.join(self.output_dir, "gradient_flow.csv")
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, restval="")
            writer.writeheader()
            writer.writerows(self.records)
        with open(os.path.join(self.output_dir, "gradient_flow.json"), "w") as handle:
            json.dump(
                {"checks": _finite(self.checks), "records": _finite(self.records)}, handle, indent=1
            )

    def on_train_end(self, logs=None):
        # The last check has no next step: its update ratios stay NaN (None in the JSON file).
        self._pending_update = None
        if self.output_dir:
            self._write_tables()
            if self.checks:
                self.written.append(
                    render.plot_gradient_norms(
                        self.checks, os.path.join(self.output_dir, "gradient_norms.png")
                    )
                )
        if self._writer is not None:
            self._writer.close()
            self._writer = None
