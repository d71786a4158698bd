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

DEFAULT_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "grad_cam")
GENERATOR_TARGETS = ("edit", "cycle", "realness_of_generated")
_SIGNED = ("integrated_gradients", "gradient_x_input", "edit")


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

    Args:
        generator: keras.Model, or a wrapper (GAN, Pix2Pix, CycleGAN, MultiStyleGAN) whose
            networks are used.
        discriminator: keras.Model. Defaults to the wrapper's.
        images: array (batch, H, W, C) in [-1, 1]: content images x.
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
        {method: (batch, H, W)}, "scores" (target scores of the explained images), "edit"
        (the `EditExplanation`, or None), "generated" (G(x) or None).
    """
    from keras_styletransfer.explain import attribution, render
    from keras_styletransfer.explain.targets import (
        TARGETS,
        build_target,
        condition_for,
        is_wrapper,
        unwrap_models,
    )
    from keras_styletransfer.images import as_rgb_uint8, save_png

    if images is None:
        raise InputError("explanation_report needs images.")
    images = np.asarray(images, np.float32)
    for method in methods:
        if method not in attribution.METHODS:
            raise InputError(
                f"Unknown method {method!r}. Valid methods: {', '.join(attribution.METHODS)}."
            )
    if target not in TARGETS:
        raise InputError(f"Unknown target {target!r}. Valid targets: {', '.join(TARGETS)}.")
    found = unwrap_models(generator=generator, discriminator=discriminator)
    generator_net, discriminator_net = found["generator"], found["discriminator"]
    generated = None
    if generator_net is not None and len(generator_net.inputs or []) in (1, 3):
        is_image_generator = len(generator_net.inputs[0].shape) == 4
        if is_image_generator:
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
    scores = np.asarray(the_target(explained))
    count = len(images)
    names = list(names or [f"image_{index}" for index in range(count)])
    os.makedirs(out_dir, exist_ok=True)

    maps, overlays = {}, {}
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
        edit = attribution.explain_edit(  # the wrapper, if given, builds D's condition
            generator, discriminator, images, steps=steps, style=_index(style, found)
        )
        maps["edit"] = edit.attributions

    for method, method_maps in maps.items():
        overlays[method] = []
        base = (
            generated if (method in ("patch_map", "edit") and generated is not None) else explained
        )
        for index in range(count):
            picture = render.overlay(base[index], method_maps[index], signed=method in _SIGNED)
            path = os.path.join(out_dir, f"{names[index]}_{method}.png")
            overlays[method].append(save_png(picture, path))

    titles = ["input"] + (["G(x)"] if generated is not None else []) + list(maps)
    rows = []
    for index in range(count):
        row = [as_rgb_uint8(images[index])]
        if generated is not None:
            row.append(as_rgb_uint8(generated[index]))
        base_row = generated if generated is not None else images
        for method in maps:
            base = explained if method not in ("patch_map", "edit") else base_row
            row.append(render.overlay(base[index], maps[method][index], signed=method in _SIGNED))
        rows.append(row)
    row_titles = [f"{names[i]}\n{target}={scores[i]:.3f}" for i in range(count)]
    sheet = render.save_grid(os.path.join(out_dir, "report.png"), rows, titles, row_titles)
    page = _write_html(out_dir, sheet, overlays, names, scores, target, edit, the_target)
    return {
        "sheet": sheet,
        "html": page,
        "overlays": overlays,
        "maps": maps,
        "scores": scores,
        "edit": edit,
        "generated": generated,
    }


def _index(style, found):
    from keras_styletransfer.explain.targets import _style_index

    return _style_index(style, found["style_names"], "the model")


def _write_html(out_dir, sheet, overlays, names, scores, target, edit, the_target):
    lines = [
        "<!doctype html><meta charset='utf-8'><title>Explanations</title>",
        f"<h1>Explanations: target {html.escape(target)}</h1>",
        f"<p>{html.escape(the_target.description)}</p>",
        f"<img src='{html.escape(os.path.basename(sheet))}' style='max-width:100%'>",
        "<table border=1 cellpadding=4><tr><th>image</th><th>score</th>",
    ]
    if edit is not None:
        lines[-1] += "<th>D(x)</th><th>D(G(x))</th><th>IG completeness error</th>"
    lines[-1] += "".join(f"<th>{html.escape(m)}</th>" for m in overlays) + "</tr>"
    for index, name in enumerate(names):
        cells = [f"<td>{html.escape(name)}</td>", f"<td>{scores[index]:.4f}</td>"]
        if edit is not None:
            cells += [
                f"<td>{edit.realness_content[index]:.4f}</td>",
                f"<td>{edit.realness_generated[index]:.4f}</td>",
                f"<td>{edit.relative_error[index]:.2%}</td>",
            ]
        for paths in overlays.values():
            file_name = html.escape(os.path.basename(paths[index]))
            cells.append(f"<td><img src='{file_name}' width=128></td>")
        lines.append("<tr>" + "".join(cells) + "</tr>")
    lines.append("</table>")
    path = os.path.join(out_dir, "report.html")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    return path
