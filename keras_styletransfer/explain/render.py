"""Every picture `explain` draws: maps, overlays, grids and the charts of its measurements.

- Attribution maps: `normalize_map` (each map on its own, not the batch as one image),
  `heatmap`, `overlay`, titled image grids (`grid_figure`, `save_grid`), TensorBoard images.
- Gradients (`explain.gradients`): `plot_gradient_flow`, `plot_gradient_distributions`,
  `save_gradient_heatmaps`, `save_layer_gradient_maps`, `plot_gradient_norms`.
- Activations: `save_feature_maps`. Robustness: `plot_robustness`.

Images are float in [-1, 1] (or uint8) and shown through `images.as_rgb_uint8`, which never
guesses the range. Figures are `images.new_figure` objects written with `images.save_figure`:
no pyplot, no change of matplotlib's backend.
"""

from __future__ import annotations

import math

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain.gradients import FLAG_KEYS, NETWORKS, combine_norms
from keras_styletransfer.images import as_rgb_uint8, new_figure, save_figure


def normalize_map(attribution_map, signed=False, percentile=99.5):
    """Scale one map (or each map of a batch) to [0, 1] on its own.

    Args:
        attribution_map: array (H, W) or (batch, H, W).
        signed: bool. Map [-m, m] to [0, 1] around 0.5 instead of [min, max] to [0, 1].
            Defaults to False.
        percentile: float. Values above this percentile of |map| saturate (outliers would
            otherwise flatten everything else). Defaults to 99.5.

    Returns:
        np.ndarray float32 in [0, 1], same shape.
    """
    maps = np.asarray(attribution_map, np.float32)
    if maps.ndim == 3:
        return np.stack([normalize_map(m, signed, percentile) for m in maps])
    if maps.ndim != 2:
        raise InputError(f"a map must be (H, W) or (batch, H, W); received {maps.shape}.")
    maps = np.nan_to_num(maps)
    if signed:
        scale = np.percentile(np.abs(maps), percentile)
        return np.clip(0.5 + 0.5 * maps / max(scale, 1e-12), 0, 1).astype(np.float32)
    low = maps.min()
    high = np.percentile(maps, percentile)
    if high <= low:
        high = maps.max()
    if high <= low:
        return np.zeros_like(maps)
    return np.clip((maps - low) / (high - low), 0, 1).astype(np.float32)


def _colormap(signed, name=None):
    """A matplotlib colour map (no pyplot): red-white-blue for signed maps (red: positive),
    inferno for unsigned ones."""
    import matplotlib

    name = name or ("RdBu_r" if signed else "inferno")
    name = {"coolwarm": "RdBu_r"}.get(name, name)
    if name not in matplotlib.colormaps:
        raise InputError(f"Unknown colormap {name!r}; use a matplotlib name such as inferno.")
    return matplotlib.colormaps[name]


def map_range(attribution_map, signed=False, center=0.0, percentile=99.5):
    """The (low, high) a map is drawn between: symmetric about `center` for signed maps, so
    white is `center` and equal distances mean equal colours; [min, percentile] otherwise."""
    values = np.nan_to_num(np.asarray(attribution_map, np.float64))
    if signed:
        bound = float(np.percentile(np.abs(values - center), percentile)) or 1e-12
        return center - bound, center + bound
    low = float(values.min())
    high = float(np.percentile(values, percentile))
    if high <= low:
        high = max(float(values.max()), low + 1e-12)
    return low, high


def heatmap(attribution_map, colormap=None, signed=False, center=0.0):
    """A map as a uint8 RGB colour image: signed maps red (> `center`) / white / blue
    (< `center`), unsigned maps dark (low) to bright yellow (high)."""
    low, high = map_range(attribution_map, signed, center)
    values = np.clip((np.nan_to_num(np.asarray(attribution_map)) - low) / (high - low), 0, 1)
    return (_colormap(signed, colormap)(values)[..., :3] * 255).round().astype(np.uint8)


def _resized(attribution_map, shape):
    import cv2

    attribution_map = np.asarray(attribution_map, np.float32)
    if attribution_map.shape != tuple(shape):
        attribution_map = cv2.resize(
            attribution_map, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR
        )
    return attribution_map


def overlay(image, attribution_map, image_weight=0.5, colormap=None, signed=False, center=0.0):
    """The map's colours over a grey copy of `image`, opaque where the map is strong and
    transparent where it is weak (signed: near `center`), so the photo shows where nothing is
    attributed.

    Args:
        image: array (H, W, C) in [-1, 1] (or uint8).
        attribution_map: array (h, w); resized to the image.
        image_weight: float. 1 shows the image alone; 0.5 (default) lets the strongest values
            cover it by 90%; 0 covers wherever the map is at all strong.
        colormap: str. A matplotlib colour map. Defaults to RdBu_r (signed) or inferno.
        signed: bool. Diverging scale around `center`: red above, blue below. Defaults to False.
        center: float. The neutral value of a signed map (D's decision threshold for a patch
            map). Defaults to 0.

    Returns:
        np.ndarray (H, W, 3) uint8.
    """
    base = as_rgb_uint8(image).astype(np.float32)
    grey = np.repeat(base.mean(axis=-1, keepdims=True), 3, axis=-1)
    values = _resized(attribution_map, base.shape[:2])
    colour = heatmap(values, colormap, signed, center).astype(np.float32)
    low, high = map_range(values, signed, center)
    if signed:
        strength = np.abs(values - center) / (high - center)
    else:
        strength = (values - low) / (high - low)
    # The square root lifts the many middling values of pixel-level maps into view.
    strength = np.sqrt(np.clip(strength, 0, 1))
    alpha = np.clip(2.0 * (1.0 - float(image_weight)) * strength, 0, 0.9)[..., None]
    return (grey * (1 - alpha) + colour * alpha).round().astype(np.uint8)


def _map_panel(figure, axis, panel):
    """Draw one map panel: the overlay, a colour bar under it with its sign in words."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    signed, center = panel.get("signed", False), panel.get("center", 0.0)
    values = _resized(panel["values"], np.asarray(panel["base"]).shape[:2])
    axis.imshow(overlay(panel["base"], values, signed=signed, center=center))
    low, high = map_range(values, signed, center)
    mappable = ScalarMappable(Normalize(low, high), _colormap(signed))
    bar = figure.colorbar(
        mappable, ax=axis, orientation="horizontal", fraction=0.05, pad=0.03, aspect=25
    )
    bar.ax.tick_params(labelsize=6)
    low_word, high_word = panel.get("words", ("", ""))
    ticks = [low, center, high] if signed else [low, high]
    bar.set_ticks(ticks)
    bar.set_ticklabels([f"{tick:.2g}" for tick in ticks])
    labels = bar.ax.get_xticklabels()  # the end labels inside the bar's span, not beyond it
    labels[0].set_horizontalalignment("left")
    labels[-1].set_horizontalalignment("right")
    bar.set_label(f"{low_word}  <-   ->  {high_word}", fontsize=6.5, labelpad=1)


def save_explanation_sheet(path, rows, column_titles, row_titles=(), title=None, captions=()):
    """The readable explanation sheet: one row per image, one column per picture, each map
    over a grey copy of its image with a colour bar saying what its colours mean.

    Args:
        path: str. PNG to write.
        rows: list of lists of panels. A panel is a dict: `{"image": uint8 array}` for a
            picture, or `{"base": image, "values": (H, W) map, "signed": bool, "center": float,
            "words": (low end, high end)}` for a map.
        column_titles: list of str. Over the first row (a title per column: method and target).
        row_titles: list of str. Left of each row.
        title: str. Over the sheet. Defaults to None.
        captions: list of str. One line each, under the sheet (what each column shows).

    Returns:
        The path written.
    """
    columns = max(len(row) for row in rows)
    first = next(panel for panel in rows[0] if panel is not None)
    shape = np.asarray(first.get("image", first.get("base"))).shape
    aspect = shape[0] / shape[1]
    cell = min(max(2.6, shape[1] / 100), 4.5)  # near the image's own pixels, within reason
    caption_inches = 0.16 * len(captions) + 0.15
    # Each row: the picture (its width fixed by the columns), a colour bar under it (~12% of the
    # axes), then a gap for the bar's labels and the next row's titles.
    row_inches = 0.9 * cell * aspect * 1.12
    gap = 0.8
    figure = new_figure(
        figsize=(
            cell * columns,
            row_inches * len(rows) + gap * (len(rows) - 1) + caption_inches + 1.05,
        )
    )
    bottom = (caption_inches + 0.35) / figure.get_figheight()
    top = 1 - 0.7 / figure.get_figheight()
    axes = figure.subplots(len(rows), columns, squeeze=False)
    figure.subplots_adjust(
        left=0.03, right=0.99, bottom=bottom, top=top, wspace=0.08, hspace=gap / row_inches
    )
    for row_index, row in enumerate(rows):
        for column in range(columns):
            axis = axes[row_index][column]
            axis.set_xticks([])
            axis.set_yticks([])
            panel = row[column] if column < len(row) else None
            if panel is None:
                axis.axis("off")
            elif "image" in panel:
                axis.imshow(as_rgb_uint8(panel["image"]))
                figure.colorbar(  # an empty bar keeps the row's pictures the same size
                    _empty_mappable(), ax=axis, orientation="horizontal", fraction=0.05, pad=0.03
                ).ax.set_visible(False)
            else:
                _map_panel(figure, axis, panel)
            if row_index == 0 and column < len(column_titles):
                axis.set_title(column_titles[column], fontsize=7.5)
        if row_index < len(row_titles):
            axes[row_index][0].set_ylabel(row_titles[row_index], fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10, y=1 - 0.12 / figure.get_figheight(), va="top")
    for index, caption in enumerate(captions):
        figure.text(0.01, (caption_inches - 0.05 - index * 0.16) / figure.get_figheight(), caption,
                    fontsize=7, va="top")  # fmt: skip
    return save_figure(figure, path, dpi=100)


def _empty_mappable():
    from matplotlib.cm import ScalarMappable

    return ScalarMappable()


def grid_figure(rows, titles=None, row_titles=None, cell_inches=1.8, title=None):
    """A figure of uint8 images laid out as `rows` (a list of lists), with column titles (over
    the first row), row titles and an overall `title`."""
    row_count = len(rows)
    column_count = max(len(row) for row in rows)
    figure = new_figure(figsize=(cell_inches * column_count, cell_inches * row_count + 0.3))
    axes = figure.subplots(row_count, column_count, squeeze=False)
    for row_index, row in enumerate(rows):
        for column_index in range(column_count):
            axis = axes[row_index][column_index]
            axis.axis("off")
            if column_index < len(row) and row[column_index] is not None:
                axis.imshow(row[column_index], interpolation="nearest")
            if row_index == 0 and titles and column_index < len(titles):
                axis.set_title(titles[column_index], fontsize=8)
        if row_titles and row_index < len(row_titles):
            axes[row_index][0].text(
                -0.08,
                0.5,
                row_titles[row_index],
                transform=axes[row_index][0].transAxes,
                rotation=90,
                va="center",
                ha="right",
                fontsize=7,
            )
    if title:
        figure.suptitle(title, fontsize=8)
    figure.tight_layout()
    return figure


def save_grid(path, rows, titles=None, row_titles=None, title=None):
    """Save a titled grid of uint8 images (see `grid_figure`) as a PNG; returns the path."""
    return save_figure(grid_figure(rows, titles, row_titles, title=title), path, dpi=100)


def write_summary_images(writer, name, images, step):
    """Write uint8 images (batch, H, W, 3) as a TensorBoard image summary with `writer`."""
    import tensorflow as tf

    with writer.as_default():
        tf.summary.image(name, np.asarray(images, np.uint8), step=step, max_outputs=len(images))
    writer.flush()


# --- gradients (explain.gradients) ---------------------------------------------------------------


def _short(layer):
    return layer.split("/", 1)[1] if "/" in layer else layer


def plot_gradient_flow(layer_rows, path, title=None, floor=1e-12):
    """The "gradient flow" plot: per-layer max and mean |gradient| of G and D, log scale.

    Layers whose gradient is exactly zero are marked with a red "x" on the floor.

    Args:
        layer_rows: list of dict from `summarize`.
        path: str. PNG file to write.
        title: str. Defaults to None.
        floor: float. Smallest value shown. Defaults to 1e-12.

    Returns:
        The path written.
    """
    figure = new_figure(figsize=(max(6.0, 0.45 * len(layer_rows) + 2), 7.5))
    axes = figure.subplots(2, 1)
    for axis, role in zip(axes, NETWORKS, strict=True):
        rows = [row for row in layer_rows if row["network"] == role]
        positions = np.arange(len(rows))
        # Exact zeros get no bar (a log axis cannot show them) but a red cross on the floor.
        maxima = np.array([row["grad_max_abs"] or np.nan for row in rows], dtype=float)
        means = np.array([row["grad_mean_abs"] or np.nan for row in rows], dtype=float)
        maxima, means = np.maximum(maxima, floor), np.maximum(means, floor)
        axis.bar(positions, maxima, color="c", alpha=0.6, label="max |grad|", width=0.8)
        axis.bar(positions, means, color="b", alpha=0.8, label="mean |grad|", width=0.5)
        zeros = [i for i, row in enumerate(rows) if row["grad_max_abs"] == 0]
        if zeros:
            axis.plot(zeros, [floor] * len(zeros), "rx", markersize=9, label="zero gradient")
        axis.set_yscale("log")
        if not np.any(np.isfinite(maxima)):
            axis.set_ylim(floor / 10, floor * 100)
        axis.set_xticks(positions)
        axis.set_xticklabels([_short(row["layer"]) for row in rows], rotation=60, ha="right")
        axis.set_xlim(-0.6, max(len(rows), 1) - 0.4)
        axis.set_ylabel("|gradient|")
        total = combine_norms([row["grad_norm"] for row in rows])
        axis.set_title(f"{role}: gradient flow (total L2 norm {total:.3g})", fontsize=10)
        axis.grid(axis="y", which="major", alpha=0.3)
        axis.legend(fontsize=8, loc="upper right")
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)


def plot_gradient_distributions(gradients, path, title=None, low=-12, high=4, bins=32):
    """Per-layer distributions of log10 |gradient| for G and D as one PNG.

    Each row is a layer's histogram (normalised to its largest bin); exact zeros are counted in a
    separate leftmost column labelled "0".

    Args:
        gradients: dict role -> list of (layer name, NumPy array of that layer's gradients).
        path: str. PNG file.
        title: str. Defaults to None.
        low, high: int. log10 range of the bins. Defaults to -12 and 4.
        bins: int. Defaults to 32.

    Returns:
        The path written.
    """
    edges = np.linspace(low, high, bins + 1)
    heights = [max(len(gradients.get(role, [])), 1) for role in NETWORKS]
    figure = new_figure(figsize=(8, 1.2 + 0.28 * sum(heights) + 1.5))
    axes = figure.subplots(2, 1, gridspec_kw={"height_ratios": heights})
    for axis, role in zip(axes, NETWORKS, strict=True):
        layers = gradients.get(role, [])
        table = np.zeros((max(len(layers), 1), bins + 1))
        for row, (_, values) in enumerate(layers):
            values = np.abs(np.asarray(values, dtype=np.float64).ravel())
            values = values[np.isfinite(values)]
            zeros = np.count_nonzero(values == 0)
            counts, _ = np.histogram(np.clip(np.log10(values[values > 0]), low, high), edges)
            table[row] = np.concatenate([[zeros], counts])
            table[row] /= max(table[row].max(), 1)
        axis.imshow(table, aspect="auto", cmap="magma", interpolation="nearest")
        axis.set_yticks(range(len(layers)))
        axis.set_yticklabels([_short(name) for name, _ in layers], fontsize=7)
        ticks = list(range(0, bins + 1, max(bins // 8, 1)))
        axis.set_xticks([0, *[t + 1 for t in ticks if t > 0]])
        axis.set_xticklabels(["0", *[f"{edges[t]:.0f}" for t in ticks if t > 0]], fontsize=7)
        axis.axvline(0.5, color="w", linewidth=0.8)
        axis.set_xlabel("log10 |gradient| (first column: exact zeros)", fontsize=8)
        axis.set_title(f"{role}: gradient distribution per layer", fontsize=10)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)


def save_gradient_heatmaps(maps, path, max_examples=6, title=None):
    """Save `input_gradient_maps` as a PNG grid: per probe example, G's image and |dL_G/dx|,
    D's real image and |dD/dy| (each map scaled to its own maximum; the maximum is printed).

    Returns:
        The path written.
    """
    count = min(len(maps["generator"]), max_examples)
    columns = [
        ("generator_images", "G input / image", "image"),
        ("generator", "|dL_G / d pixel|", "heat"),
        ("discriminator_images", "D real image", "image"),
        ("discriminator", "|dD / d pixel|", "heat"),
    ]
    figure = new_figure(figsize=(8, 2.1 * count + 0.4))
    axes = figure.subplots(count, 4, squeeze=False)
    for row in range(count):
        for column, (key, label, kind) in enumerate(columns):
            axis = axes[row][column]
            if kind == "image":
                image = np.asarray(maps[key][row])
                axis.imshow(as_rgb_uint8(image[..., :3]), interpolation="nearest")
            else:
                heat = maps[key][row]
                peak = float(heat.max())
                axis.imshow(heat, cmap="inferno", vmin=0, vmax=peak or 1, interpolation="nearest")
                label = f"{label}\nmax {peak:.2g}"
            axis.set_title(label if row == 0 or kind == "heat" else "", fontsize=7)
            axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)


def save_layer_gradient_maps(maps, path, max_examples=4, title=None):
    """Save `layer_gradient_maps` as a PNG grid: rows are probe examples, columns layers; signed
    channel-mean gradients on a diverging scale symmetric about 0 (blue < 0 < red).

    Returns:
        The path written.
    """
    names = list(maps)
    count = min(min(len(value) for value in maps.values()), max_examples) if names else 0
    if not names or not count:
        raise InputError("No layer gradient maps to save; pass at least one layer name.")
    figure = new_figure(figsize=(2.3 * len(names) + 0.4, 2.2 * count + 0.4))
    axes = figure.subplots(count, len(names), squeeze=False)
    for column, name in enumerate(names):
        values = np.asarray(maps[name])
        for row in range(count):
            value = values[row]
            if value.ndim == 1:
                value = value[np.newaxis, :]
            bound = float(np.abs(value).max()) or 1.0
            axis = axes[row][column]
            axis.imshow(value, cmap="coolwarm", vmin=-bound, vmax=bound, aspect="auto")
            axis.set_title(f"{name}\n|max| {bound:.2g}" if row == 0 else "", fontsize=7)
            axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)


def plot_gradient_norms(checks, path, title=None):
    """Total gradient norms of G, D and G's adversarial part over training steps (log scale),
    with the steps where a warning was raised marked.

    Returns:
        The path written.
    """
    figure = new_figure(figsize=(7, 3.6))
    axis = figure.subplots()
    steps = [check["step"] for check in checks]
    for key, style in (
        ("grad_norm_generator", "b-o"),
        ("grad_norm_generator_adversarial", "c--"),
        ("grad_norm_discriminator", "r-o"),
    ):
        values = [
            max(check[key], 1e-30) if math.isfinite(check[key]) else np.nan for check in checks
        ]
        axis.plot(steps, values, style, markersize=3, label=key.replace("grad_norm_", ""))
    for flag, color in zip(FLAG_KEYS, ("gray", "orange", "purple"), strict=True):
        marked = [check["step"] for check in checks if check.get(flag)]
        for step in marked:
            axis.axvline(step, color=color, alpha=0.25)
        if marked:
            axis.plot([], [], color=color, label=flag)
    axis.set_yscale("log")
    axis.set_xlabel("training step")
    axis.set_ylabel("gradient L2 norm")
    axis.legend(fontsize=7)
    axis.set_title(title or "gradient norms on the fixed probe", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)


# --- activations and robustness ----------------------------------------------------------------


def top_channels(activation, top_k):
    """Indices of the `top_k` channels with the largest mean |activation| (last axis)."""
    activation = np.asarray(activation, dtype=np.float64)
    strength = np.abs(activation).reshape(-1, activation.shape[-1]).mean(axis=0)
    order = np.argsort(-strength, kind="stable")
    return order[: min(top_k, len(order))]


def save_feature_maps(activations, path, top_k=8, image_index=0, title=None):
    """Save a PNG grid of the strongest feature maps of each layer for one image.

    One row per layer: the `top_k` channels with the largest mean |activation| on that image,
    each on its own colour scale (its channel index and range printed above it). Layers
    without a spatial map (dense outputs) show their `top_k` strongest units as bars.

    Args:
        activations: dict name -> array `(batch, H, W, C)` or `(batch, units)` (e.g. from
            `layer_activations`).
        path: str. PNG file to write.
        top_k: int. Channels per layer. Defaults to 8.
        image_index: int. Which image of the batch. Defaults to 0.
        title: str. Defaults to None.

    Returns:
        The path written.

    Raises:
        InputError: no activations, `top_k` < 1, or `image_index` outside the batch.
    """
    if not activations:
        raise InputError("No activations to draw; pass a dict name -> array.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
        raise InputError(f"`top_k` must be an integer >= 1; received {top_k!r}.")
    names = list(activations)
    figure = new_figure(figsize=(1.5 * top_k + 0.6, 1.75 * len(names) + 0.5))
    axes = figure.subplots(len(names), top_k, squeeze=False)
    for row, name in enumerate(names):
        values = np.asarray(activations[name])
        if not 0 <= image_index < len(values):
            raise InputError(
                f"`image_index` must be in [0, {len(values) - 1}]; received {image_index!r}."
            )
        value = values[image_index].astype(np.float64)
        channels = top_channels(value, top_k)
        if value.ndim == 3:
            for column in range(top_k):
                axis = axes[row][column]
                axis.axis("off")
                if column >= len(channels):
                    continue
                channel = value[..., channels[column]]
                axis.imshow(channel, cmap="viridis", interpolation="nearest")
                label = f"ch {channels[column]}\n[{channel.min():.2g}, {channel.max():.2g}]"
                axis.set_title(label, fontsize=6)
        else:
            flat = value.reshape(-1)
            for column in range(top_k):
                axes[row][column].axis("off")
            axis = axes[row][0]
            axis.axis("on")
            axis.bar(range(len(channels)), flat[channels], color="tab:blue")
            axis.set_xticks(range(len(channels)))
            axis.set_xticklabels([str(c) for c in channels], fontsize=5, rotation=90)
            axis.set_title("top units", fontsize=6)
        axes[row][0].text(
            -0.08,
            0.5,
            name,
            rotation=90,
            ha="right",
            va="center",
            fontsize=7,
            transform=axes[row][0].transAxes,
        )
    if title:
        figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    return save_figure(figure, path, dpi=90)


def plot_robustness(path, curves=(), attacks=(), explanation=None):
    """Save a PNG: one panel per stability curve, plus attack amplification and explanation
    stability panels when given.

    Args:
        path: str. PNG file to write.
        curves: list of StabilityCurve.
        attacks: list of AttackResult (plotted as change vs epsilon, per method).
        explanation: ExplanationStability or None.

    Returns:
        str: the path written.
    """
    panels = len(curves) + (1 if attacks else 0) + (1 if explanation is not None else 0)
    if not panels:
        raise InputError("plot_robustness needs curves, attacks or an explanation result.")
    figure = new_figure(figsize=(3.6 * panels, 3.2))
    axes = figure.subplots(1, panels, squeeze=False)
    axes = list(axes[0])
    for axis, curve in zip(axes, curves, strict=False):
        if curve.output_change is not None:
            axis.plot(curve.values, curve.output_change, "o-", label="mean |G(x')-G(x)|")
        if curve.verdict_change is not None:
            axis.plot(curve.values, curve.verdict_change, "s-", label="mean |D(x')-D(x)|")
            axis.plot(curve.values, curve.verdict_flip_rate, "^--", label="D flip rate")
        axis.plot(curve.values, curve.input_change, ":", color="grey", label="mean |x'-x|")
        axis.set_xlabel(curve.parameter)
        axis.set_title(curve.perturbation)
        axis.legend(fontsize=6)
    index = len(curves)
    if attacks:
        axis = axes[index]
        index += 1
        for target in sorted({a.target for a in attacks}):
            chosen = sorted((a for a in attacks if a.target == target), key=lambda a: a.epsilon)
            eps = [a.epsilon for a in chosen]
            for method, style in (("random", ":"), ("fgsm", "--"), ("pgd", "-")):
                axis.plot(
                    eps,
                    [getattr(a, f"{method}_change") for a in chosen],
                    style,
                    marker="o",
                    label=f"{target[0].upper()} {method}",
                )
        axis.set_xlabel("epsilon (L-inf)")
        axis.set_title("attacks: change")
        axis.legend(fontsize=6)
    if explanation is not None:
        axis = axes[index]
        axis.plot(explanation.values, explanation.spearman, "o-", label="Spearman")
        axis.plot(
            explanation.values,
            explanation.top_k_overlap,
            "s-",
            label=f"top-{explanation.top_fraction:.0%} overlap",
        )
        axis.set_ylim(0, 1.05)
        axis.set_xlabel(f"{explanation.perturbation}: {explanation.parameter}")
        axis.set_title("explanation stability")
        axis.legend(fontsize=6)
    figure.tight_layout()
    return save_figure(figure, path, dpi=100)
