"""Unpaired families under one wall-clock budget, scored on held-out photos against the exact style.

For every style and family (CycleGAN, CUT, FastCUT, the unpaired multi-style GAN trained on that
style alone), a model from the family's `train-style` preset trains on the offline photos and
paintings for the same wall-clock budget, then is scored on the held-out photos against the
exact stylisation (`evaluation.evaluate_on_held_out`: 64-px crops and the whole photo at 256 px;
SSIM, the share of the photo's SSIM gap it closes, PSNR) and by the style judge (FID / KID on
its features; `evaluation.judge_on_held_out`; about 10 s a run; `--no-judge` skips it).

The budget is the training's own wall clock (`fit`, its first step's tracing included). Each
family's step time is measured first on a throw-away model (once per family), so that the
learning-rate schedule (constant, then linear to 0 over the second half: the references')
ends near the budget; a callback stops training when the budget is spent.
The machine is shared: compare figures from one invocation (the load averages are recorded).

    python benchmarks/unpaired.py --budget-minutes 10
    python benchmarks/unpaired.py --budget-minutes 1 --styles watercolour --out results/x.json
    python benchmarks/unpaired.py --budget-minutes 4 --families cyclegan \\
        --variant learning_rate=5e-4,blocks=3,identity_weight=0,pool_size=0

`--variant` changes the CycleGAN or CUT built (`blocks`, `identity_weight`, `cycle_weight`,
`pool_size`, `upsampling`, `residual` (1: generators that start as the identity, see
`ResnetGenerator(residual=True)`), `nce_weight`, and explanation-guided training:
`explanation_guidance`, `locality_weight`) or the run (`learning_rate`, `batch_size`,
`filters`, `d_learning_rate_scale`: the discriminators' learning rate over the generators';
`generator_average`: the momentum of the generator's weight average,
`TranslationConfig.generator_average`;
`augment`: DiffAugment policies joined by "+", e.g. `augment=translation+cutout`;
`colour_weight`: CUT's colour term, `CUT(colour_weight=...)`; `r1_weight`: CUT's R1
penalty on D, `CUT(r1_weight=...)`; `downsamplings`: the
generators' stride-2 stages, 0 for full resolution throughout; `operators` (1: generators that
edit the photo with blurs, greying, darkening and lightening, `ResnetGenerator(operators=True)`);
`filter` (CUT: a learned photo filter, `FilterGenerator(filters=N)`, 0 for its global
settings alone; `setting_rate`; `sketch` 1: its pencil shading,
`PhotoFilter(sketch=True)`);
for multistyle only `operators`, `r1_weight`, `cycle_weight`, `upsampling`, `multitask`
(1: StarGAN v2's discriminator, a PatchGAN map per domain,
`PatchGANDiscriminator(num_outputs=...)`, instead of the pooled one), `filter` (1: a learned
filter per style, `StyleFilterGenerator`; `sketch` as for CUT) and `identity_weight`
(|G(y, t) - y| on the style images, `MultiStyleGAN(identity_weight=...)`; one weight per
style joined by "+", e.g. `identity_weight=0.2+1+0.2`));
what it does not name is the family's `train-style` default. It is recorded beside
the figures.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import sys
import time

# Run as a script (`python benchmarks/X.py`): the repository root holds `benchmarks`.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)


HERE = os.path.dirname(os.path.abspath(__file__))
FAMILIES = ("cyclegan", "cut", "fastcut", "multistyle")
STYLES = ("watercolour", "oil", "pencil")
VIEWS = ("crops", 256)
CALIBRATION_STEPS = 4
PLAN_SPEEDUP = 0.6
NETWORK_KEYS = ("blocks", "identity_weight", "cycle_weight", "pool_size", "upsampling", "residual")
NETWORK_KEYS += ("nce_weight", "explanation_guidance", "locality_weight", "augment")
NETWORK_KEYS += ("colour_weight", "downsamplings", "operators", "r1_weight", "multitask")
NETWORK_KEYS += ("filter", "setting_rate", "sketch")
# What `--variant` may change in a multi-style network.
MULTISTYLE_KEYS = ("operators", "multitask", "r1_weight", "cycle_weight", "upsampling", "filter")
MULTISTYLE_KEYS += ("identity_weight", "sketch")
RUN_KEYS = ("learning_rate", "batch_size", "filters", "d_learning_rate_scale")
RUN_KEYS += ("generator_average",)


def parse_variant(text):
    """`key=value,...` -> dict (numbers converted), checked against the known keys."""
    from keras_styletransfer.errors import InputError

    variant = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, _, value = item.partition("=")
        if key not in (*NETWORK_KEYS, *RUN_KEYS) or not value:
            raise InputError(
                f"--variant {item!r}: use key=value with key one of "
                f"{', '.join((*NETWORK_KEYS, *RUN_KEYS))}."
            )
        try:
            number = float(value)
            variant[key] = int(number) if number.is_integer() and "." not in value else number
        except ValueError:
            variant[key] = value
    return variant


def build_model(config, variant):
    """The family's `train-style` model, or a CycleGAN / CUT changed by `variant`, compiled
    as `train-style` compiles it."""
    from keras_styletransfer.training import translation

    network_changes = {k: v for k, v in variant.items() if k in NETWORK_KEYS}
    scale = float(variant.get("d_learning_rate_scale", 1.0))
    if not network_changes:
        return translation.compile_translation(translation.build_model(config), config, scale)
    from keras_styletransfer.models.discriminators import PatchGANDiscriminator
    from keras_styletransfer.models.generators import ResnetGenerator
    from keras_styletransfer.seeding import seeded

    # Unchanged settings are the family's default preset's (`models.presets`).
    blocks = network_changes.get("blocks", 3 if config.family == "cyclegan" else 6)
    explanation = {
        key: network_changes.get(key, 0.0) for key in ("explanation_guidance", "locality_weight")
    }
    # `augment=translation+cutout`: "+" joins policies (the variant's "," separates keys).
    explanation["augment"] = str(network_changes.get("augment", "")).replace("+", ",") or None
    upsampling = network_changes.get("upsampling", "transpose")
    residual = bool(network_changes.get("residual", 0))
    heads = {"residual": residual, "operators": bool(network_changes.get("operators", 0))}
    downsamplings = int(network_changes.get("downsamplings", 2))
    filters = config.filters
    with seeded(config.seed):
        if config.family == "cyclegan":
            from keras_styletransfer.models.cyclegan import CycleGAN

            model = CycleGAN(
                ResnetGenerator(
                    blocks,
                    filters,
                    upsampling=upsampling,
                    **heads,
                    num_downsamplings=downsamplings,
                    name="g_ab",
                ),
                ResnetGenerator(
                    blocks,
                    filters,
                    upsampling=upsampling,
                    **heads,
                    num_downsamplings=downsamplings,
                    name="g_ba",
                ),
                PatchGANDiscriminator(num_layers=2, filters=filters, name="d_a"),
                PatchGANDiscriminator(num_layers=2, filters=filters, name="d_b"),
                cycle_weight=network_changes.get("cycle_weight", 10.0),
                identity_weight=network_changes.get("identity_weight", 10.0),
                pool_size=network_changes.get("pool_size", 0),
                image_shape=(config.image_size, config.image_size, 3),
                seed=config.seed,
                **explanation,
            )
        elif config.family in ("cut", "fastcut"):
            from keras_styletransfer.models.cut import CUT

            fast = config.family == "fastcut"
            if "filter" in network_changes:  # a learned photo filter (`FilterGenerator`)
                from keras_styletransfer.models.filters import FilterGenerator

                generator = FilterGenerator(
                    filters=int(network_changes["filter"]),
                    setting_rate=network_changes.get("setting_rate", 100.0),
                    sketch=bool(network_changes.get("sketch", 0)),
                    name="g",
                )
            else:
                generator = ResnetGenerator(
                    blocks,
                    filters,
                    upsampling=network_changes.get("upsampling", "resize"),
                    **heads,
                    num_downsamplings=downsamplings,
                    name="g",
                )
            model = CUT(
                generator,
                PatchGANDiscriminator(num_layers=2, filters=filters, name="d"),
                nce_weight=network_changes.get("nce_weight", 10.0 if fast else 1.0),
                nce_identity=not fast,
                flip_equivariance=fast,
                colour_weight=network_changes.get("colour_weight", 0.0),
                r1_weight=network_changes.get("r1_weight", 0.0),
                seed=config.seed,
                **explanation,
            )
        elif config.family == "multistyle" and set(network_changes) <= set(MULTISTYLE_KEYS):
            from keras_styletransfer.models.discriminators import GlobalPoolDiscriminator
            from keras_styletransfer.models.generators import StyleGenerator
            from keras_styletransfer.models.multistyle import MultiStyleGAN

            domains = len(config.styles) + 1  # as the `multistyle` preset
            if network_changes.get("multitask", 0):
                discriminator = PatchGANDiscriminator(
                    num_layers=2, filters=filters, num_outputs=domains, name="d"
                )
            else:
                discriminator = GlobalPoolDiscriminator(filters=filters, num_styles=domains)
            if network_changes.get("filter", 0):  # a learned filter per style
                from keras_styletransfer.models.filters import StyleFilterGenerator

                generator = StyleFilterGenerator(
                    domains, sketch=bool(network_changes.get("sketch", 0)), name="g"
                )
            else:
                generator = StyleGenerator(
                    domains,
                    filters,
                    operators=heads["operators"],
                    upsampling=network_changes.get("upsampling", "transpose"),
                )
            model = MultiStyleGAN(
                generator,
                discriminator,
                style_names=list(config.styles),
                r1_weight=network_changes.get("r1_weight", 0.0),
                cycle_weight=network_changes.get("cycle_weight", 10.0),
                identity_weight=_per_style(network_changes.get("identity_weight", 0.0)),
                seed=config.seed,
            )
        else:
            raise ValueError(f"--variant cannot change a {config.family} network.")
    return translation.compile_translation(model, config, scale)


def _per_style(value):
    """A number, or one number per style joined by "+" (`identity_weight=0.2+1+0.2`)."""
    if isinstance(value, str) and "+" in value:
        return [float(part) for part in value.split("+")]
    return float(value)


def _time_budget_callback(seconds):
    import keras

    class TimeBudget(keras.callbacks.Callback):
        """Stop `fit` once `seconds` of training have passed; count the steps taken."""

        def on_train_begin(self, logs=None):
            self.start, self.steps = time.perf_counter(), 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if time.perf_counter() - self.start >= seconds:
                self.model.stop_training = True

    return TimeBudget()


def calibrate(config, data, variant):
    """(first step seconds, later step seconds) of a throw-away model of this family."""
    from keras_styletransfer.training.translation import build_dataset

    model = build_model(config, variant)
    dataset = build_dataset(config, data)
    started = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
    first = time.perf_counter() - started
    started = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=CALIBRATION_STEPS, verbose=0, shuffle=False)
    return first, (time.perf_counter() - started) / CALIBRATION_STEPS


def train_and_score(family, styles, budget_seconds, args, variant, step_times):
    """One run: calibrate (once per family), train one model on `styles` (one style, or
    several for a multi-style model) for the budget, score it on each.

    Returns:
        `{style: entry}`.
    """
    import dataclasses

    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.evaluation import evaluate_on_held_out, judge_on_held_out
    from keras_styletransfer.training.translation import build_dataset, offline_style_set

    run_fields = {k: v for k, v in variant.items() if k in RUN_KEYS}
    config = TranslationConfig(
        family,
        styles=tuple(styles),
        image_size=args.image_size,
        batch_size=run_fields.get("batch_size", args.batch_size),
        filters=run_fields.get("filters", args.filters),
        learning_rate=run_fields.get("learning_rate", 2e-4),
        generator_average=run_fields.get("generator_average", 0.0),
        seed=args.seed,
        epochs=1,
        steps_per_epoch=1,
        offline_split=args.split,
    )
    data = offline_style_set(config)
    if family not in step_times:
        step_times[family] = calibrate(config, data, variant)
    first, step = step_times[family]
    # Planned for steps faster than measured, and without the first step (the first model of
    # a process also pays one-off start-up costs; the machine is shared and its load moves):
    # the schedule ends a little after the budget, and the budget, not the plan, stops training.
    steps = max(1, int(budget_seconds / (PLAN_SPEEDUP * step)) + 1)
    config = dataclasses.replace(config, steps_per_epoch=steps)
    model = build_model(config, variant)
    budget = _time_budget_callback(budget_seconds)
    started = time.perf_counter()
    history = model.fit(
        build_dataset(config, data),
        epochs=1,
        steps_per_epoch=steps,
        callbacks=[budget],
        verbose=0,
        shuffle=False,
    )
    seconds = time.perf_counter() - started
    common = {
        "family": family,
        "trained_on": list(styles),
        "variant": variant,
        "offline_split": data.split,
        "planned_steps": steps,
        "steps": budget.steps,
        "first_step_seconds": round(first, 2),
        "step_seconds": round(step, 3),
        "training_seconds": round(seconds, 1),
        "final_losses": {k: float(v[-1]) for k, v in history.history.items()},
    }
    started = time.perf_counter()
    metrics = evaluate_on_held_out(model, config, data, sizes=VIEWS)
    # The same model at lower style strengths (`stylize(strength=...)`), scored alike.
    weaker = [s for s in args.strengths if s != 1.0]
    by_strength = {
        s: evaluate_on_held_out(model, config, data, sizes=VIEWS, strength=s) for s in weaker
    }
    strengths = (1.0, *weaker)
    judged = judge_on_held_out(model, config, data, strengths=strengths) if args.judge else {}
    scoring = round(time.perf_counter() - started, 1)
    entries = {}
    for style in styles:
        entry = entries[style] = {**common, "style": style, "metrics": metrics[style]}
        if args.judge:
            entry["judge"] = judged[style]
        if weaker:
            entry["at_strength"] = {
                f"{s:g}": {
                    "metrics": by_strength[s][style],
                    "judge": judged[style][f"model at strength {s:g}"] if args.judge else None,
                }
                for s in weaker
            }
        entry["scoring_seconds"] = scoring
        settings = learned_filter(model, style, styles)
        if settings is not None:
            entry["filter_settings"] = settings
        if args.previews:
            entry["preview"] = write_preview(
                model, data, style, family, variant, args.previews, weaker
            )
    return entries


def learned_filter(model, style, styles):
    """A learned filter's settings for `style` (`FilterGenerator`, `StyleFilterGenerator`),
    rounded for the JSON; None for other generators."""
    generator = model.primary_generator()
    if not hasattr(generator, "filter_settings"):
        return None
    if hasattr(generator, "style_count"):
        settings = generator.filter_settings(list(styles).index(style))
    else:
        settings = generator.filter_settings()
    return {
        key: [round(v, 4) for v in value] if isinstance(value, list) else round(value, 4)
        for key, value in settings.items()
    }


def reference_outputs(photos, truths):
    """Fixed, untrained outputs for the held-out crops, to read the SSIM figures by: what the
    metric gives for smoothing, for outlines, for a small misplacement of the exact style.

    Args:
        photos, truths: uint8 arrays (N, H, W, 3): the held-out crops and their exact style.

    Returns:
        `{name: uint8 array (N, H, W, 3)}`.
    """
    import cv2
    import numpy as np

    def outlined(image, strength):
        # The image darkened by `strength` times its Sobel gradient magnitude, summed over
        # the channels (values in [0, 1]): dark lines along its edges, nothing else changed.
        values = image.astype(np.float32) / 255.0
        magnitude = sum(
            np.hypot(
                cv2.Sobel(values[..., c], cv2.CV_32F, 1, 0, ksize=3),
                cv2.Sobel(values[..., c], cv2.CV_32F, 0, 1, ksize=3),
            )
            for c in range(3)
        )
        darkened = values * np.clip(1.0 - strength * magnitude, 0.0, 1.0)[..., None]
        return np.round(darkened * 255).astype(np.uint8)

    def smoothed(image):
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        flat = cv2.edgePreservingFilter(bgr, flags=cv2.NORMCONV_FILTER, sigma_s=30, sigma_r=0.45)
        return cv2.cvtColor(flat, cv2.COLOR_BGR2RGB)

    blurred = [cv2.GaussianBlur(p, (0, 0), 1.0) for p in photos]
    references = {
        "edge-preserving smoothing (sigma_s 30, sigma_r 0.45)": [smoothed(p) for p in photos],
        "Gaussian blur, sigma 1": blurred,
        "the photo with half-strength outlines": [outlined(p, 0.5) for p in photos],
        "the photo with full-strength outlines": [outlined(p, 1.0) for p in photos],
        "Gaussian blur sigma 1, half-strength outlines": [outlined(b, 0.5) for b in blurred],
        "halfway between the photo and the exact style": [
            ((p.astype(np.float32) + t) / 2).round().astype(np.uint8)
            for p, t in zip(photos, truths, strict=True)
        ],
        "the exact style, one pixel to the right": [np.roll(t, 1, axis=1) for t in truths],
    }
    return {name: np.stack(images) for name, images in references.items()}


def score_references(style, args):
    """`{name: score_outputs(...)}` of `reference_outputs` on the held-out crops of `style`."""
    from keras_styletransfer.config import TranslationConfig
    from keras_styletransfer.evaluation import score_outputs
    from keras_styletransfer.images import to_model_range
    from keras_styletransfer.training.translation import offline_style_set

    config = TranslationConfig(
        "cut", styles=(style,), image_size=args.image_size, seed=args.seed, offline_split=args.split
    )
    data = offline_style_set(config)
    photos, truths = data.test_crops, data.test_crop_targets[style]
    scores = {}
    for name, outputs in reference_outputs(photos, truths).items():
        scores[name] = score_outputs(
            [to_model_range(o) for o in outputs],
            [to_model_range(t) for t in truths],
            [to_model_range(p) for p in photos],
        )
    return scores


PREVIEW_CROPS = 10


def preview_path(folder, family, style, variant):
    """`folder/<family>_<style>[_<key>-<value>...].png`: one preview a run."""
    suffix = "".join(f"_{key}-{value}" for key, value in sorted(variant.items()))
    return os.path.join(folder, f"{family}_{style}{suffix}.png")


def write_preview(model, data, style, family, variant, folder, strengths=()):
    """A PNG a person can judge: held-out crops (rows: photo, model, the model at each of
    `strengths` below 1, exact style), 3x enlarged.

    Returns:
        The path written (`preview_path`; checked before the run by `main`).
    """
    import numpy as np

    from keras_styletransfer.evaluation import translate
    from keras_styletransfer.images import save_png, tile_images, to_uint8

    picks = np.linspace(0, len(data.test_crops) - 1, PREVIEW_CROPS).round().astype(int)
    photos = data.test_crops[picks]
    # A multi-style model is asked for this style (it also knows "photo"); others ignore it.
    outputs = [to_uint8(translate(model, photos, style=style))]
    outputs += [to_uint8(translate(model, photos, style, s)) for s in strengths if s != 1.0]
    rows = np.concatenate([photos, *outputs, data.test_crop_targets[style][picks]])
    os.makedirs(folder, exist_ok=True)
    path = preview_path(folder, family, style, variant)
    return save_png(tile_images(rows, columns=PREVIEW_CROPS), path, scale=3)


def reference_table(results):
    """A markdown table of `--references`' scores: crops SSIM, gap closed, PSNR."""
    lines = [
        "| style | reference | 64-px crops SSIM (gap closed) | PSNR (photo) |",
        "| --- | --- | --- | --- |",
    ]
    for style, scores in results["references"].items():
        for name, score in scores.items():
            # PSNR is infinite where an output equals its target (flat crops): not a mean.
            psnr = f"{score['psnr']:.2f}" if math.isfinite(score["psnr"]) else "- (exact on some)"
            lines.append(
                f"| {style} | {name} | {score['ssim']:.3f} ({score['ssim_gap_closed']:.0%}) | "
                f"{psnr} ({score['baseline_psnr']:.2f}) |"
            )
    return "\n".join(lines)


def table(results):
    """A markdown table of the runs."""
    lines = [
        "| style | family | steps | 64-px crops SSIM (gap closed) | 256 px SSIM (gap closed) | "
        "PSNR crops (photo) | FID judge (photo) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for entry in results["runs"].values():
        crops, whole = entry["metrics"]["crops"], entry["metrics"]["256"]
        judge = entry.get("judge")
        fid = (
            f"{judge['model']['fid_judge_features']:.2f} "
            f"({judge['baseline']['fid_judge_features']:.2f})"
            if judge
            else "-"
        )
        name = entry["family"] + (f" {entry['variant']}" if entry["variant"] else "")
        lines.append(
            f"| {entry['style']} | {name} | {entry['steps']} | {crops['ssim']:.3f} "
            f"({crops['ssim_gap_closed']:.0%}) | {whole['ssim']:.3f} "
            f"({whole['ssim_gap_closed']:.0%}) | {crops['psnr']:.2f} ({crops['baseline_psnr']:.2f})"
            f" | {fid} |"
        )
        for strength, scored in entry.get("at_strength", {}).items():
            crops, whole = scored["metrics"]["crops"], scored["metrics"]["256"]
            fid = f"{scored['judge']['fid_judge_features']:.2f}" if scored["judge"] else "-"
            lines.append(
                f"| {entry['style']} | ... at strength {strength} | | {crops['ssim']:.3f} "
                f"({crops['ssim_gap_closed']:.0%}) | {whole['ssim']:.3f} "
                f"({whole['ssim_gap_closed']:.0%}) | {crops['psnr']:.2f} | {fid} |"
            )
    return "\n".join(lines)


def _strengths(text):
    """`--strengths`: comma-separated numbers in [0, 1]."""
    from keras_styletransfer.validation import check_strength

    try:
        return tuple(check_strength(float(item)) for item in text.split(",") if item.strip())
    except Exception as error:
        raise argparse.ArgumentTypeError(f"{text!r}: {error}") from None


def main(argv=None):
    from benchmarks.protocol import cpu_model

    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  python benchmarks/unpaired.py --budget-minutes 10\n"
        "  python benchmarks/unpaired.py --budget-minutes 1 --styles watercolour\n",
    )
    parser.add_argument("--budget-minutes", type=float, default=10.0)
    parser.add_argument("--styles", default=",".join(STYLES))
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--filters", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--split",
        default="auto",
        choices=("auto", "photos", "halves"),
        help="how the training photos are shared between the unpaired sides "
        "(`load_offline_style_set`)",
    )
    parser.add_argument("--variant", default="", help="key=value,... (see the module docstring)")
    parser.add_argument(
        "--together",
        action="store_true",
        help="train one multi-style model on all --styles for the budget (multistyle only), "
        "instead of one model per style",
    )
    parser.add_argument(
        "--strengths",
        type=_strengths,
        default=(1.0,),
        help="also score each model at these style strengths, e.g. 0.5,0.75 (`stylize`'s "
        "strength: the output mixed with the photo); 1 is always scored",
    )
    parser.add_argument(
        "--no-judge", dest="judge", action="store_false", help="skip the style judge's FID / KID"
    )
    parser.add_argument(
        "--previews",
        default=None,
        help="a folder for one PNG a run: held-out crops, the model's outputs, the exact style",
    )
    parser.add_argument(
        "--references",
        action="store_true",
        help="score only fixed references on the held-out crops (smoothing, outlines, the exact "
        "style moved by a pixel; `reference_outputs`), no training",
    )
    parser.add_argument("--out", default=None, help="default results/unpaired-<budget>min.json")
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)

    from keras_styletransfer.errors import InputError
    from keras_styletransfer.files import check_output_file, write_json

    try:
        styles = [s.strip() for s in args.styles.split(",") if s.strip()]
        families = [f.strip() for f in args.families.split(",") if f.strip()]
        unknown = [f for f in families if f not in FAMILIES]
        if unknown or not families or not styles:
            raise InputError(
                f"--families {unknown or families}: choose from {', '.join(FAMILIES)}."
            )
        if args.budget_minutes <= 0:
            raise InputError(f"--budget-minutes must be > 0; received {args.budget_minutes}.")
        variant = parse_variant(args.variant)
        if args.together and set(families) != {"multistyle"}:
            raise InputError("--together trains one multi-style model: use --families multistyle.")
        if set(variant) & set(NETWORK_KEYS) - set(MULTISTYLE_KEYS) and "multistyle" in families:
            raise InputError(
                "--variant changes cyclegan / cut / fastcut networks (multistyle: "
                + ", ".join(MULTISTYLE_KEYS)
                + " only)."
            )
        name = "references" if args.references else f"{args.budget_minutes:g}min"
        out = args.out or os.path.join(HERE, "results", f"unpaired-{name}.json")
        check_output_file(out, overwrite=args.overwrite)
        for style in styles if args.previews else ():
            for family in families:
                path = preview_path(args.previews, family, style, variant)
                check_output_file(path, overwrite=args.overwrite, option="--previews")
    except InputError as error:
        print(f"unpaired.py: error: {error}", file=sys.stderr)
        return 2
    import keras
    import tensorflow as tf

    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "load_average_start": os.getloadavg(),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "budget_minutes": args.budget_minutes,
        "image_size": args.image_size,
        "batch_size": args.batch_size,
        "filters": args.filters,
        "seed": args.seed,
        "split": args.split,
        "runs": {},
    }
    if args.references:
        del results["runs"], results["budget_minutes"], results["batch_size"], results["filters"]
        results["references"] = {style: score_references(style, args) for style in styles}
        write_json(out, results)
        print(reference_table(results))
        print(f"results in {out}")
        return 0
    step_times = {}
    runs = [(family, tuple(styles)) for family in families] if args.together else []
    runs = runs or [(family, (style,)) for style in styles for family in families]
    for family, trained_on in runs:
        print(f"{family} {','.join(trained_on)}: {args.budget_minutes:g} min", flush=True)
        entries = train_and_score(
            family, trained_on, 60 * args.budget_minutes, args, variant, step_times
        )
        for style, entry in entries.items():
            results["runs"][f"{family}_{style}"] = entry
            crops = entry["metrics"]["crops"]
            print(
                f"  {style}: {entry['steps']} steps in {entry['training_seconds']:.0f} s: crops "
                f"SSIM {crops['ssim']:.3f} (photo {crops['baseline_ssim']:.3f}, gap closed "
                f"{crops['ssim_gap_closed']:.0%})",
                flush=True,
            )
        results["load_average_end"] = os.getloadavg()
        write_json(out, results)  # after every run: a long benchmark keeps what it measured
    print(table(results))
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
