"""Deterministic OpenCV stylisations of RGB uint8 images: exact ground truth for style transfer.

Each function maps an RGB uint8 image `(H, W, 3)` to an RGB uint8 image of the same shape, with
fixed parameters, so a style is a pure function of the image: the same input gives the same
bytes on every call and for every `cv2.setNumThreads` setting (checked by the tests). A model
trained on unpaired photos and stylised images can then be scored against the exact
stylisation of held-out photos.

Parameters are in pixels of the image given (OpenCV's edge-aware filters have a spatial sigma),
so the styles are meant to be applied at the resolution the model sees (see
`keras_styletransfer.data.offline_photos`, which stylises each crop after cropping).

- "pencil" (`pencil_sketch`): `cv2.pencilSketch`, its gray output repeated to 3 channels.
- "watercolour" (`watercolour`): `cv2.stylization`, edge-preserving smoothing with soft edges.
- "cartoon" (`cartoon`): bilateral filtering, colour quantisation, adaptive-threshold outlines.
- "detail" (`detail`): `cv2.detailEnhance`, a subtle style close to the photo.
"""

from __future__ import annotations

import numpy as np

from keras_styletransfer.errors import InputError

# Accepted spellings that are not registry names.
STYLE_ALIASES = {"watercolor": "watercolour", "pencil_sketch": "pencil"}


def _check_rgb_uint8(image):
    """Return `image` as a C-contiguous (H, W, 3) uint8 array, or raise `InputError`."""
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[-1] != 3:
        raise InputError(
            f"styles take one RGB uint8 image of shape (H, W, 3); received dtype {image.dtype} "
            f"and shape {image.shape}. Convert with `np.asarray(PIL.Image.open(path)"
            ".convert('RGB'))`."
        )
    if image.shape[0] < 3 or image.shape[1] < 3:
        raise InputError(f"styles need an image of at least 3x3 pixels; received {image.shape}.")
    return np.ascontiguousarray(image)


def pencil_sketch(image, sigma_s=60.0, sigma_r=0.07, shade_factor=0.05):
    """A gray pencil drawing of the image, as RGB (the gray value in all three channels).

    `cv2.pencilSketch` returns a gray and a colour sketch; the gray one is used: it is a clearly
    different domain from the photo (no colour at all), which makes the translation easy to see
    and to score. It is repeated to three channels so every style has the photo's shape.

    Args:
        image: uint8 array (H, W, 3). RGB.
        sigma_s: float. Spatial extent of the smoothing, in pixels. Defaults to 60.
        sigma_r: float. Edge sensitivity in [0, 1]. Defaults to 0.07.
        shade_factor: float. Brightness of the paper in [0, 0.1]. Defaults to 0.05.

    Returns:
        uint8 array (H, W, 3) with three equal channels.
    """
    import cv2

    image = _check_rgb_uint8(image)
    gray, _ = cv2.pencilSketch(
        cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
        sigma_s=sigma_s,
        sigma_r=sigma_r,
        shade_factor=shade_factor,
    )
    return np.repeat(gray[..., np.newaxis], 3, axis=-1)


def _edge_preserving_filter(filter_name, image, sigma_s, sigma_r):
    """An RGB uint8 image through OpenCV's edge-preserving filter `cv2.<filter_name>` (which
    takes and returns BGR)."""
    import cv2

    image = _check_rgb_uint8(image)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    styled = getattr(cv2, filter_name)(bgr, sigma_s=sigma_s, sigma_r=sigma_r)
    return cv2.cvtColor(styled, cv2.COLOR_BGR2RGB)


def watercolour(image, sigma_s=60.0, sigma_r=0.45):
    """A painterly, watercolour-like rendering (`cv2.stylization`).

    Args:
        image: uint8 array (H, W, 3). RGB.
        sigma_s: float. Spatial extent of the smoothing, in pixels. Defaults to 60.
        sigma_r: float. Edge sensitivity in [0, 1]. Defaults to 0.45.

    Returns:
        uint8 array (H, W, 3), RGB.
    """
    return _edge_preserving_filter("stylization", image, sigma_s, sigma_r)


def cartoon(image, levels=8, block_size=9, edge_offset=6, median_size=5):
    """Flat colours with dark outlines, from stock OpenCV functions only.

    1. Colours: two passes of `cv2.bilateralFilter` (diameter 7, sigmas 60 / 7) flatten regions
       while keeping edges, then each channel is quantised to `levels` values.
    2. Outlines: the gray image is median-filtered and `cv2.adaptiveThreshold` (mean over
       `block_size` pixels minus `edge_offset`) marks pixels darker than their surroundings.
    3. Outline pixels are set to black.

    Args:
        image: uint8 array (H, W, 3). RGB.
        levels: int. Values per colour channel. Defaults to 8.
        block_size: int. Odd neighbourhood size of the edge threshold, in pixels. Defaults to 9.
        edge_offset: int. How much darker than the neighbourhood an outline is. Defaults to 6.
        median_size: int. Odd median-filter size before edge detection. Defaults to 5.

    Returns:
        uint8 array (H, W, 3), RGB.
    """
    import cv2

    image = _check_rgb_uint8(image)
    colours = image
    for _ in range(2):
        colours = cv2.bilateralFilter(colours, 7, 60, 7)
    step = 256 // int(levels)
    colours = (colours // step) * step + step // 2
    gray = cv2.medianBlur(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY), int(median_size))
    edges = cv2.adaptiveThreshold(
        gray,
        255,
        cv2.ADAPTIVE_THRESH_MEAN_C,
        cv2.THRESH_BINARY,
        int(block_size),
        int(edge_offset),
    )
    return cv2.bitwise_and(colours, colours, mask=edges)


def detail(image, sigma_s=10.0, sigma_r=0.15):
    """Enhanced local detail (`cv2.detailEnhance`): a subtle style, close to the photo.

    Args:
        image: uint8 array (H, W, 3). RGB.
        sigma_s: float. Spatial extent, in pixels. Defaults to 10.
        sigma_r: float. Edge sensitivity in [0, 1]. Defaults to 0.15.

    Returns:
        uint8 array (H, W, 3), RGB.
    """
    return _edge_preserving_filter("detailEnhance", image, sigma_s, sigma_r)


STYLES = {
    "pencil": pencil_sketch,
    "watercolour": watercolour,
    "cartoon": cartoon,
    "detail": detail,
}


def style_name(name):
    """The registry name for `name` (aliases such as "watercolor" accepted), or `InputError`."""
    if isinstance(name, str):
        key = name.strip().lower()
        key = STYLE_ALIASES.get(key, key)
        if key in STYLES:
            return key
    raise InputError(
        f"unknown style {name!r}; the styles are {', '.join(repr(n) for n in STYLES)} "
        f"(aliases: {', '.join(repr(a) for a in STYLE_ALIASES)})."
    )


def apply_style(name, image):
    """Stylise one RGB uint8 image with the named style.

    Args:
        name: str. A key of `STYLES` ("pencil", "watercolour", "cartoon", "detail").
        image: uint8 array (H, W, 3). RGB.

    Returns:
        uint8 array (H, W, 3), RGB.

    Example:
        >>> from skimage import data
        >>> sketch = apply_style("pencil", data.astronaut())
    """
    return STYLES[style_name(name)](image)


def apply_style_batch(name, images):
    """Stylise every image of a uint8 batch `(N, H, W, 3)`; returns a uint8 batch."""
    function = STYLES[style_name(name)]
    images = np.asarray(images)
    if images.ndim != 4:
        raise InputError(f"expected a batch of shape (N, H, W, 3); received shape {images.shape}.")
    return np.stack([function(image) for image in images]) if len(images) else images.copy()
