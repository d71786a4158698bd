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
- "ink" (`ink_wash`): a Chinese ink wash painting: a few graded gray washes of one ink on warm
  paper, bright areas left blank, dark brush strokes along edges, softly bled wet edges.
- "oil" (`oil_painting`): `cv2.xphoto.oilPainting` (opencv-contrib): each pixel takes the mean
  colour of the most frequent gray level around it, which paints flat dabs of colour.

Locality. A model sees a crop; the style must therefore be (nearly) a function of the crop:
`style(crop)` ~= `crop(style(whole image))`. `locality` measures it: the SSIM (Gaussian 11x11
window, sigma 1.5, as `tf.image.ssim`) between the two on the crop's interior, `margin` pixels
in from the border. Figures with `locality`'s defaults (64 px crops, margin 8, 4 crops at each
of the scales 0.25, 0.5 and 1 of the six offline training photos: 72 crops; OpenCV 5.0.0),
mean and worst crop:

| style | mean | worst | whole crop (margin 0): mean, worst | note |
| --- | --- | --- | --- | --- |
| pencil | 1.0000 | 1.0000 | 0.9979, 0.9820 | sigma_s=60 kept: this filter is local already |
| watercolour | 0.9971 | 0.9721 | 0.9922, 0.9488 | sigma_s 60 -> 30 (60: 0.9370, worst 0.0001) |
| cartoon | 1.0000 | 1.0000 | 0.9965, 0.9860 | filters of 5-9 px |
| detail | 0.9996 | 0.9975 | 0.9979, 0.9903 | sigma_s=10 |
| ink | 1.0000 | 1.0000 | 0.9989, 0.9917 | every filter within ~10 px |
| oil | 1.0000 | 1.0000 | 0.9990, 0.9945 | a 7x7 neighbourhood |
"""

from __future__ import annotations

import numpy as np

from keras_styletransfer.errors import InputError

# Accepted spellings that are not registry names.
STYLE_ALIASES = {
    "watercolor": "watercolour",
    "pencil_sketch": "pencil",
    "ink_wash": "ink",
    "oil_painting": "oil",
}


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


def watercolour(image, sigma_s=30.0, sigma_r=0.45):
    """A painterly, watercolour-like rendering (`cv2.stylization`).

    Args:
        image: uint8 array (H, W, 3). RGB.
        sigma_s: float. Spatial extent of the smoothing, in pixels. Defaults to 30 (60 once: its
            recursive filter reached far past a 64 px crop; see `locality` above).
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


def ink_wash(
    image,
    smoothing_sigma=3.0,
    paper_level=0.38,
    gamma=1.8,
    levels=3,
    gradation=0.4,
    wash_density=0.8,
    stroke_sigma=1.2,
    bleed_sigma=1.0,
    wet_edge=0.6,
):
    """A Chinese ink wash painting (shui-mo): one black ink on warm paper, in graded washes.

    1. Washes: the gray image is flattened by two passes of `cv2.bilateralFilter` (spatial
       sigma `smoothing_sigma`, range sigma 0.1), turned into ink density `1 - gray`, and
       everything lighter than `paper_level` is left as blank paper (the "left white" of ink
       painting); the rest is raised to `gamma` (mostly light washes, a few dark ones), softly
       quantised into `levels` washes (diluted layers of ink), mixed with a `gradation` share
       of the unquantised tone (ink spreading inside a wash) and capped at `wash_density`, so
       the strokes stay darker than any wash.
    2. Strokes: an extended difference of Gaussians (XDoG: G(s) - 0.98 G(1.6 s), s =
       `stroke_sigma`) of the flattened gray image, 5x5-median-filtered, marks dark edges as
       brush strokes of full-strength ink.
    3. Ink on wet paper: the density (the darker of washes and strokes) is blurred by
       `bleed_sigma`, and ink pools at the rim of each wash (density above its 2.5 px blur,
       times `wet_edge`, is added) as a drying wash leaves darker edges.
    4. The density mixes the ink colour (24, 22, 26) into the paper colour (240, 234, 220).

    Every filter reaches at most about 10 pixels, so the style is local (see `locality`).

    Args:
        image: uint8 array (H, W, 3). RGB.
        smoothing_sigma: float. Spatial sigma of the wash smoothing, in pixels. Defaults to 3.
        paper_level: float. Ink density (0 = white, 1 = black) left as blank paper, in
            [0, 1). Defaults to 0.38.
        gamma: float. Exponent of the wash tones (above 1: lighter washes). Defaults to 1.8.
        levels: int. Number of washes. Defaults to 3.
        gradation: float. Share of the continuous tone in the washes, in [0, 1]. Defaults
            to 0.4.
        wash_density: float. Density of the darkest wash, in (0, 1]. Defaults to 0.8.
        stroke_sigma: float. Scale of the brush strokes, in pixels. Defaults to 1.2.
        bleed_sigma: float. Blur of the ink into the paper, in pixels. Defaults to 1.
        wet_edge: float. Darkening at the rim of washes. Defaults to 0.6.

    Returns:
        uint8 array (H, W, 3), RGB.

    References:
        Winnemoeller, Kyprianidis and Olsen, "XDoG: An eXtended difference-of-Gaussians
        compendium including advanced image stylization", Computers & Graphics 36(6), 2012.
    """
    import cv2

    image = _check_rgb_uint8(image)
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / np.float32(255)
    flat = gray
    for _ in range(2):
        flat = cv2.bilateralFilter(flat, 0, 0.1, float(smoothing_sigma))
    # 1. Washes: blank paper below `paper_level`, then `levels` soft steps of density.
    wash = np.clip((1 - flat - paper_level) / (1 - paper_level), 0, 1) ** np.float32(gamma)
    steps = wash * levels
    whole = np.floor(steps)
    layers = (whole + 1 / (1 + np.exp(-12 * (steps - whole - 0.5)))) / levels
    wash = (1 - gradation) * np.clip(layers, 0, 1) + gradation * wash
    wash = wash * np.float32(wash_density)
    # 2. Strokes: XDoG of the flattened gray (the median drops speckle from fine texture).
    base = cv2.medianBlur(np.round(flat * 255).astype(np.uint8), 5).astype(np.float32) / 255
    edges = cv2.GaussianBlur(base, (0, 0), stroke_sigma) - 0.98 * cv2.GaussianBlur(
        base, (0, 0), 1.6 * stroke_sigma
    )
    strokes = np.clip(-np.tanh(60 * (edges + 0.01)), 0, 1)
    # 3. Ink bleeding into wet paper, darker at the rims of washes.
    density = cv2.GaussianBlur(np.maximum(wash, strokes).astype(np.float32), (0, 0), bleed_sigma)
    rims = np.maximum(density - cv2.GaussianBlur(density, (0, 0), 2.5), 0)
    density = np.clip(density + wet_edge * rims, 0, 1)[..., np.newaxis]
    # 4. Ink over paper.
    paper = np.array((240, 234, 220), np.float32)
    ink = np.array((24, 22, 26), np.float32)
    return np.clip(paper + (ink - paper) * density + 0.5, 0, 255).astype(np.uint8)


def oil_painting(image, size=3, dyn_ratio=4):
    """An oil painting (`cv2.xphoto.oilPainting`, from opencv-contrib).

    Around every pixel (a `(2 size + 1)` square) the gray levels, divided by `dyn_ratio`, are
    counted; the pixel takes the mean colour of the neighbours at the most frequent level. Flat
    dabs of colour replace texture, and edges stay where they are.

    Args:
        image: uint8 array (H, W, 3). RGB.
        size: int. Neighbourhood radius, in pixels. Defaults to 3 (a 7x7 square).
        dyn_ratio: int. Gray levels merged into one histogram bin (larger: bigger, flatter
            dabs). Defaults to 4.

    Returns:
        uint8 array (H, W, 3), RGB.

    References:
        Holzmann, "Beyond Photography: The Digital Darkroom", Prentice Hall, 1988 (the
        algorithm OpenCV's documentation cites).
    """
    import cv2

    image = _check_rgb_uint8(image)
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    styled = cv2.xphoto.oilPainting(bgr, int(size), int(dyn_ratio), cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(styled, cv2.COLOR_BGR2RGB)


STYLES = {
    "pencil": pencil_sketch,
    "watercolour": watercolour,
    "cartoon": cartoon,
    "detail": detail,
    "ink": ink_wash,
    "oil": oil_painting,
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
        name: str. A key of `STYLES` ("pencil", "watercolour", "cartoon", "detail", "ink",
            "oil").
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


def locality(
    style, images, crop_size=64, margin=8, crops_per_scale=4, scales=(0.25, 0.5, 1.0), seed=0
):
    """How local a style is: SSIM of `style(crop)` against `crop(style(whole image))`.

    Each image is resized (INTER_AREA) by each of `scales` (a short side below `crop_size` is
    raised to it); `crops_per_scale` random `crop_size` squares are cut from it, and each is
    compared with the same square of the whole resized image's style, on its interior only
    (`margin` pixels in from the border, where a filter must see past the crop). SSIM uses a
    Gaussian 11x11 window of sigma 1.5 (as `tf.image.ssim`) on the three channels in [0, 255].

    Args:
        style: str or callable. A style name, or a function of one RGB uint8 image.
        images: sequence of uint8 arrays (H, W, 3). The photos to crop.
        crop_size: int. Side of the crops, in pixels. Defaults to 64.
        margin: int. Border left out of the comparison, in pixels. Defaults to 8.
        crops_per_scale: int. Crops per image and scale. Defaults to 4.
        scales: sequence of float. Resize factors of each image. Defaults to (0.25, 0.5, 1).
        seed: int. Seed of the crop positions. Defaults to 0.

    Returns:
        float64 array of one SSIM per crop (1 = the crop's style is exactly the crop of the
        whole image's style).

    Example:
        >>> from skimage import data
        >>> bool(locality("watercolour", [data.coffee()]).min() > 0.9)
        True
    """
    import cv2
    from skimage.metrics import structural_similarity

    function = style if callable(style) else STYLES[style_name(style)]
    if not 0 <= 2 * margin < crop_size:
        raise InputError(
            f"margin must leave an interior: 0 <= 2 * margin < crop_size; received margin "
            f"{margin!r} and crop_size {crop_size!r}."
        )
    rng = np.random.default_rng(seed)
    inner = slice(margin, crop_size - margin)
    scores = []
    for image in images:
        image = _check_rgb_uint8(image)
        height, width = image.shape[:2]
        for scale in scales:
            factor = max(float(scale), crop_size / min(height, width))
            shape = (max(crop_size, round(width * factor)), max(crop_size, round(height * factor)))
            resized = cv2.resize(image, shape, interpolation=cv2.INTER_AREA)
            whole = function(resized)
            for _ in range(crops_per_scale):
                top = rng.integers(0, resized.shape[0] - crop_size + 1)
                left = rng.integers(0, resized.shape[1] - crop_size + 1)
                window = (slice(top, top + crop_size), slice(left, left + crop_size))
                alone = function(np.ascontiguousarray(resized[window]))
                scores.append(
                    structural_similarity(
                        alone[inner, inner],
                        whole[window][inner, inner],
                        channel_axis=-1,
                        data_range=255,
                        gaussian_weights=True,
                        sigma=1.5,
                        use_sample_covariance=False,
                    )
                )
    return np.asarray(scores, np.float64)
