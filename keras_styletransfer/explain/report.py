"""One call from a trained GAN to a folder of explanations: overlays, a report sheet, an HTML page.

Discriminator targets ("realness", "region_realness", "style", "unit") explain D's verdict on the
generator's output G(x) (a conditional D judges [x, G(x)]); generator targets ("edit", "cycle",
"realness_of_generated") explain a score as a function of the content image x. When a generator
and a discriminator are both there, the sheet also shows the edit explanation: integrated
gradients from x to G(x) under D, summing to D(G(x)) - D(x).
"""

from __future__ import annotations

import html
import os

import numpy as np

from keras_styletransfer.errors import InputError
from keras_styletransfer.explain import render

DEFAULT_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "grad_cam")
GENERATOR_TARGETS = ("edit", "cycle", "realness_of_generated")


def default_layer(target):
    """The last spatial layer of the target's first network with more than one channel."""
    from keras_styletransfer.explain.attribution import spatial_layers
    from keras_styletransfer.explain.targets import find_layer

    candidates = []
    for name in spatial_layers(target.networks[:1]):
        _, layer = find_layer(target.networks[:1], name)
        if (
            layer.output.shape[-1]
            and layer.output.shape[-1] > 1
            and layer.__class__.__name__ != ("InputLayer")
        ):
            candidates.append(name)
    if not candidates:
        raise InputError(f"{target.networks[0].name!r} has no spatial layer for Grad-CAM.")
    return candidates[-1]


# Each column of the report: its title, whether its map is signed, and one line saying how to
# read it. Signed maps are red where the value raises the score and blue where it lowers it.
COLUMNS = {
    "saliency": (
        "saliency",
        False,
        "saliency: |d score / d pixel| (largest over the colours): where a small change of the "
        "image would move the score most (unsigned).",
    ),
    "gradient_x_input": (
        "gradient x input",
        True,
        "gradient x input: the first-order share of each pixel in the score (red raises it, blue "
        "lowers it).",
    ),
    "smoothgrad": (
        "SmoothGrad",
        False,
        "SmoothGrad: saliency averaged over 20 noisy copies of the image; less speckle, same "
        "meaning (unsigned).",
    ),
    "integrated_gradients": (
        "integrated gradients",
        True,
        "integrated gradients: each pixel's share of score(image) - score(black image); the "
        "shares sum to that difference (red raises the score, blue lowers it).",
    ),
    "grad_cam": (
        "Grad-CAM",
        False,
        "Grad-CAM: a layer's feature maps weighted by their gradient, negatives dropped: the "
        "regions whose features raise the score (coarse, at that layer's resolution).",
    ),
    "patch_map": (
        "D's patch map",
        True,
        "D's patch map: the discriminator's own verdict on each patch of G(x), its logit (red: "
        "judged real, blue: judged fake, white: D's decision threshold).",
    ),
    "edit": (
        "edit x -> G(x)",
        True,
        "edit: integrated gradients from the photo x to G(x) under D: red changes made D find "
        "G(x) more real, blue less; they sum to D(G(x)) - D(x).",
    ),
}
# What the score is, for the titles; and the words at the ends of a signed colour bar.
TARGET_TITLES = {
    "realness": "D's realness of G(x)",
    "region_realness": "D's realness in the region",
    "style": "D's style logit of G(x)",
    "edit": "the size of the edit |G(x) - x|",
    "cycle": "the cycle error",
    "unit": "the unit's activation",
    "realness_of_generated": "D(G(x)) as a function of x",
}
_TOWARDS_REAL = ("towards fake", "towards real")


def _reading(method, target):
    """(title, signed, words at the low and high end of the colour bar, caption) of a column."""
    label, signed, caption = COLUMNS.get(method, (method, False, method))
    if method == "patch_map":
        return f"{label}\non G(x)", True, ("fake", "real"), caption
    if method == "edit":
        return f"{label}\nD(G(x)) - D(x)", True, _TOWARDS_REAL, caption
    realness = target in ("realness", "region_realness", "realness_of_generated")
    if signed:
        words = _TOWARDS_REAL if realness else ("lowers", "raises")
    else:
        words = ("none", "raises" if method == "grad_cam" else "most")
    return f"{label}\nof {TARGET_TITLES.get(target, target)}", signed, words, caption


def model_sized(image, generator, long_side=None):
    """`image` (uint8 H x W x C) resized so the generator takes it: its long side `long_side`
    (None: as it is), aspect kept, each side rounded to the generator's size multiple (and at
    least its smallest side). Explanations are made at this size, not at a training crop's."""
    import cv2

    from keras_styletransfer.serving.inference import minimum_side, size_multiple

    image = np.asarray(image)
    height, width = image.shape[:2]
    factor = 1.0 if long_side is None else long_side / max(height, width)
    multiple = size_multiple(generator)
    smallest = minimum_side(generator)
    shape = [max(smallest, round(side * factor / multiple) * multiple) for side in (height, width)]
    if shape == [height, width]:
        return image
    shrinking = shape[0] * shape[1] < height * width
    resized = cv2.resize(
        image,
        (shape[1], shape[0]),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC,
    )
    return resized.reshape(*shape, *image.shape[2:])


def _groups(images):
    """Indices of the images by shape (images of one shape are explained as one batch)."""
    groups = {}
    for index, image in enumerate(images):
        groups.setdefault(np.shape(image), []).append(index)
    return list(groups.values())


def explanation_report(
    generator,
    discriminator=None,
    images=None,
    out_dir="explanations",
    methods=DEFAULT_METHODS,
    target="realness",
    layer_name=None,
    style=None,
    steps=32,
    names=None,
    mask=None,
    unit=None,
):
    """Explain a trained GAN on `images` and write overlays, a PNG sheet and an HTML page.

    The sheet (report.png) has a row per image and a column per picture: the image, G(x), then
    each map over a grey copy of the image it explains, with a colour bar saying what its colours
    mean (signed maps: red raises the score, i.e. pushes D towards "real" for a realness target,
    blue lowers it), a title naming the method and the target, and a caption line per column.
    The HTML page (report.html, offline) explains each column again and shows the overlays.

    Args:
        generator: keras.Model, or a wrapper (GAN, Pix2Pix, CycleGAN, MultiStyleGAN) whose
            networks are used.
        discriminator: keras.Model. Defaults to the wrapper's.
        images: array (batch, H, W, C) in [-1, 1], or a list of (H, W, C) arrays of any sizes
            the generator takes (see `model_sized`): content images x, explained at that size.
        out_dir: str. Output folder. Defaults to "explanations".
        methods: sequence of str. Names of `attribution.METHODS`. Defaults to saliency,
            smoothgrad, integrated_gradients and grad_cam.
        target: str. Name of `targets.TARGETS`. Defaults to "realness".
        layer_name: str. Grad-CAM layer (and the "unit" target's). Defaults to the last spatial
            layer of the explained network.
        style: str or int. Style of a multi-style generator / style head. Defaults to the first.
        steps: int. Integrated-gradients steps. Defaults to 32.
        names: list of str. Names of the images in file names. Defaults to image_0, ...
        mask: array. Region of "region_realness". Defaults to None.
        unit: int. Channel of the "unit" target. Defaults to 0.

    Returns:
        dict: "sheet" (PNG path), "html" (path), "overlays" {method: [paths]}, "maps"
        {method: [one (H, W) map per image]}, "scores" (target scores of the explained images),
        "edit" (the `EditExplanation` of each image, or None), "generated" (G(x) per image, or
        None).
    """
    from keras_styletransfer.explain import attribution
    from keras_styletransfer.explain.targets import TARGETS

    if images is None or len(images) == 0:
        raise InputError("explanation_report needs images.")
    images = [np.asarray(image, np.float32) for image in images]
    for method in methods:
        if method not in attribution.METHODS:
            raise InputError(
                f"Unknown method {method!r}. Valid methods: {', '.join(attribution.METHODS)}."
            )
    if target not in TARGETS:
        raise InputError(f"Unknown target {target!r}. Valid targets: {', '.join(TARGETS)}.")
    count = len(images)
    names = list(names or [f"image_{index}" for index in range(count)])
    settings = dict(
        methods=methods, target=target, layer_name=layer_name, style=style, steps=steps,
        mask=mask, unit=unit,
    )  # fmt: skip
    per_image = [None] * count
    for indices in _groups(images):
        found = _explain_batch(generator, discriminator, np.stack([images[i] for i in indices]),
                               **settings)  # fmt: skip
        for position, index in enumerate(indices):
            per_image[index] = {key: _item(value, position) for key, value in found.items()}
    first = per_image[0]
    maps = {method: [entry["maps"][method] for entry in per_image] for method in first["maps"]}
    generated = None if first["generated"] is None else [e["generated"] for e in per_image]
    edits = None if first["edit"] is None else [e["edit"] for e in per_image]
    scores = np.array([entry["score"] for entry in per_image])
    threshold = float(getattr(getattr(generator, "adversarial_loss", None), "decision_threshold",
                              0.0))  # fmt: skip
    os.makedirs(out_dir, exist_ok=True)
    overlays, rows = _draw(images, generated, maps, names, out_dir, target, threshold)
    readings = {method: _reading(method, target) for method in maps}
    titles = ["input x"] + (["G(x)"] if generated is not None else [])
    titles += [readings[method][0] for method in maps]
    row_titles = []
    for index in range(count):
        text = f"{names[index]}\n{target} = {scores[index]:.3f}"
        if edits is not None:
            edit = edits[index]
            text += f"\nD(x) {edit['realness_content']:.2f} -> D(G(x)) "
            text += f"{edit['realness_generated']:.2f}"
        row_titles.append(text)
    description = TARGETS.get(target, target)
    smoothed = [m for m in maps if m in _PIXEL_LEVEL]
    notes = [readings[method][3] for method in maps]
    if smoothed:
        notes.append(
            f"Pixel-level maps ({', '.join(smoothed)}) are shown smoothed over ~1% of the "
            "image's side (the colour bars give the smoothed values)."
        )
    sheet = render.save_explanation_sheet(
        os.path.join(out_dir, "report.png"),
        rows,
        titles,
        row_titles,
        title=f"Explanations of {TARGET_TITLES.get(target, target)} (target '{target}': "
        f"{description})",
        captions=notes,
    )
    page = _write_html(out_dir, sheet, overlays, names, scores, target, edits, readings)
    return {
        "sheet": sheet,
        "html": page,
        "overlays": overlays,
        "maps": maps,
        "scores": scores,
        "edit": edits,
        "generated": generated,
    }


def _item(value, position):
    if value is None:
        return None
    if isinstance(value, dict):
        return {key: _item(item, position) for key, item in value.items()}
    return value[position]


def _explain_batch(generator, discriminator, images, methods, target, layer_name, style, steps,
                   mask, unit):  # fmt: skip
    """Scores, maps, G(x) and the edit explanation of one batch of same-sized images."""
    from keras_styletransfer.explain import attribution
    from keras_styletransfer.explain.targets import (
        build_target,
        condition_for,
        is_wrapper,
        unwrap_models,
    )

    found = unwrap_models(generator=generator, discriminator=discriminator)
    generator_net, discriminator_net = found["generator"], found["discriminator"]
    generated = None
    inputs = (generator_net.inputs or []) if generator_net is not None else []
    if len(inputs) in (1, 3) and len(inputs[0].shape) == 4:
        generated = attribution.generate(generator_net, images, style, found["style_names"])
    explained = images if target in GENERATOR_TARGETS or generated is None else generated
    source = condition_for(found, images, _index(style, found)) if discriminator_net else None
    the_target = build_target(
        target,
        generator=generator if is_wrapper(generator) else generator_net,
        discriminator=discriminator_net,
        style=style,
        mask=mask,
        layer=layer_name,
        unit=unit,
        source=source if target in ("realness", "region_realness", "unit") else None,
    )
    maps = {}
    for method in methods:
        arguments = {}
        if method == "grad_cam":
            arguments["layer_name"] = layer_name or default_layer(the_target)
        elif method == "integrated_gradients":
            arguments["steps"] = steps
        elif method == "patch_map" and discriminator_net is None:
            continue
        maps[method] = attribution.explain(method, the_target, explained, **arguments)
    if "patch_map" not in maps and discriminator_net is not None and generated is not None:
        maps["patch_map"] = attribution.patch_map(discriminator_net, generated, source=source)
    edit = None
    if generated is not None and discriminator_net is not None:
        found_edit = attribution.explain_edit(  # the wrapper, if given, builds D's condition
            generator, discriminator, images, steps=steps, style=_index(style, found)
        )
        maps["edit"] = found_edit.attributions
        edit = {
            "realness_content": found_edit.realness_content,
            "realness_generated": found_edit.realness_generated,
            "relative_error": found_edit.relative_error,
        }
    return {
        "score": np.asarray(the_target(explained)),
        "maps": maps,
        "generated": generated,
        "edit": edit,
    }


# Pixel-level maps are speckled (checkerboards of up/down-sampling, single pixels); what a reader
# needs is where the attribution lies, so they are shown smoothed (the maps returned are not).
_PIXEL_LEVEL = ("saliency", "gradient_x_input", "smoothgrad", "integrated_gradients", "edit")


def _shown(method, values):
    """The map as drawn: pixel-level maps smoothed over ~1% of the image's long side."""
    import cv2

    if method not in _PIXEL_LEVEL:
        return values
    sigma = max(1.0, max(values.shape) / 100)
    return cv2.GaussianBlur(np.asarray(values, np.float32), (0, 0), sigma)


def _draw(images, generated, maps, names, out_dir, target, threshold):
    """Write each overlay as its own PNG (at the image's size) and lay out the sheet's panels."""
    from keras_styletransfer.images import as_rgb_uint8, save_png

    overlays = {method: [] for method in maps}
    rows = []
    for index, image in enumerate(images):
        output = None if generated is None else generated[index]
        row = [{"image": as_rgb_uint8(image)}]
        if output is not None:
            row.append({"image": as_rgb_uint8(output)})
        for method, method_maps in maps.items():
            explains_output = method in ("patch_map", "edit") or target not in GENERATOR_TARGETS
            base = output if explains_output and output is not None else image
            _, signed, words, _ = _reading(method, target)
            center = threshold if method == "patch_map" else 0.0
            values = _shown(method, method_maps[index])
            picture = render.overlay(base, values, signed=signed, center=center)
            path = os.path.join(out_dir, f"{names[index]}_{method}.png")
            overlays[method].append(save_png(picture, path))
            row.append(
                {"base": base, "values": values, "signed": signed,
                 "center": center, "words": words}
            )  # fmt: skip
        rows.append(row)
    return overlays, rows


def _index(style, found):
    from keras_styletransfer.explain.targets import _style_index

    return _style_index(style, found["style_names"], "the model")


_LEGEND_CSS = {
    True: "linear-gradient(to right, #2166ac, #f7f7f7, #b2182b)",  # RdBu_r: blue, white, red
    False: "linear-gradient(to right, #000004, #781c6d, #ed6925, #fcffa4)",  # inferno
}


def _write_html(out_dir, sheet, overlays, names, scores, target, edits, readings):
    """report.html: the sheet, how to read each column, and a row of overlays per image; it
    refers only to the PNGs beside it (works offline, no scripts, no fonts to fetch)."""
    from keras_styletransfer.explain.targets import TARGETS
    from keras_styletransfer.files import write_text

    escape = html.escape
    lines = [
        "<!doctype html><html lang='en'><meta charset='utf-8'><title>Explanations</title>",
        "<style>body{font-family:sans-serif;max-width:1400px;margin:1em auto}"
        "td,th{padding:4px;vertical-align:top}.bar{display:inline-block;width:120px;height:12px;"
        "border:1px solid #888;vertical-align:middle}</style>",
        f"<h1>Explanations: target <code>{escape(target)}</code></h1>",
        f"<p>The score explained: {escape(TARGETS.get(target, target))}. Each map is drawn over "
        "a grey copy of the image it explains: coloured where the map is strong, the photo "
        "where it is near zero.</p>",
        "<h2>How to read the columns</h2><table border=1>"
        "<tr><th>column</th><th>colours</th><th>what it shows</th></tr>",
    ]
    for title, signed, words, caption in readings.values():
        legend = (
            f"{escape(words[0])} <span class='bar' style='background:{_LEGEND_CSS[signed]}'>"
            f"</span> {escape(words[1])}"
        )
        lines.append(
            f"<tr><td>{escape(title)}</td><td>{legend}</td><td>{escape(caption)}</td></tr>"
        )
    lines += [
        "</table>",
        f"<h2>The sheet</h2><img src='{escape(os.path.basename(sheet))}' style='max-width:100%'"
        " alt='explanation sheet'>",
        "<h2>Per image</h2><table border=1><tr><th>image</th><th>score</th>",
    ]
    if edits is not None:
        lines[-1] += "<th>D(x)</th><th>D(G(x))</th><th>IG completeness error</th>"
    lines[-1] += "".join(f"<th>{escape(readings[m][0])}</th>" for m in overlays) + "</tr>"
    for index, name in enumerate(names):
        cells = [f"<td>{escape(name)}</td>", f"<td>{scores[index]:.4f}</td>"]
        if edits is not None:
            edit = edits[index]
            cells += [
                f"<td>{edit['realness_content']:.4f}</td>",
                f"<td>{edit['realness_generated']:.4f}</td>",
                f"<td>{edit['relative_error']:.2%}</td>",
            ]
        for method, paths in overlays.items():
            file_name = escape(os.path.basename(paths[index]))
            cells.append(f"<td><img src='{file_name}' width=256 alt='{escape(method)}'></td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table></html>")
    return write_text(os.path.join(out_dir, "report.html"), "\n".join(lines))
