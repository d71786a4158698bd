"""Panorama fusion: stitch overlapping photos with OpenCV, then stylise the whole with tiling.

`stitch(photos)` joins uint8 RGB photos with `cv2.Stitcher`: first in PANORAMA mode (a camera
turning on the spot: spherical warping, bundle adjustment), then, if that fails, leaves photos out
or gives an implausible size, in SCANS mode (affine: flat scenes, scans, a camera moving
sideways). The stitch must use *every* photo: OpenCV silently drops photos it cannot place, and a
panorama missing a third of its views is an error here, not a result. The black border that
warping leaves is cropped to the largest clean rectangle (`crop_to_content`).

The stylisation (`stylize_panorama`) runs the tiled `Stylizer` over the whole stitched image, so
no seam follows the photos' borders or the tiles' (tiles are blended with linear ramps).
"""

from __future__ import annotations

import numpy as np

from keras_styletransfer.errors import InputError

STITCH_MODES = ("auto", "panorama", "scans")

# cv2.Stitcher status codes -> what the user can do.
_STATUS_HINTS = {
    1: "too few matching features between the photos (ERR_NEED_MORE_IMGS)",
    2: "no consistent geometry between the photos (ERR_HOMOGRAPHY_EST_FAIL)",
    3: "the camera parameters could not be estimated (ERR_CAMERA_PARAMS_ADJUST_FAIL)",
}
_ADVICE = "consecutive photos must overlap by about a third and show textured, unmoving content"


def _stitch_once(photos, mode, confidence):
    """`(status, panorama or None, indices used)` of one `cv2.Stitcher` run."""
    import cv2

    stitcher = cv2.Stitcher_create(
        cv2.Stitcher_PANORAMA if mode == "panorama" else cv2.Stitcher_SCANS
    )
    stitcher.setPanoConfidenceThresh(confidence)
    cv2.setRNGSeed(0)  # RANSAC draws: the same photos give the same panorama
    status, panorama = stitcher.stitch([cv2.cvtColor(p, cv2.COLOR_RGB2BGR) for p in photos])
    if status != cv2.Stitcher_OK or panorama is None:
        return status, None, []
    used = sorted(int(i) for i in np.ravel(stitcher.component()))
    return status, cv2.cvtColor(panorama, cv2.COLOR_BGR2RGB), used


def _plausible(cropped, panorama, photos):
    """A stitch larger than its largest photo (by 10%: a false match can lay photos over each
    other), at most a little larger than all of them together, and mostly filled (cropping keeps
    half the canvas): degenerate warps of views OpenCV misreads give huge canvases, curved
    strips or slivers."""
    area = cropped.shape[0] * cropped.shape[1]
    canvas = panorama.shape[0] * panorama.shape[1]
    areas = [p.shape[0] * p.shape[1] for p in photos]
    return 1.1 * max(areas) <= area and canvas <= 1.5 * sum(areas) and area >= 0.5 * canvas


def _attempts(mode, count):
    """`(mode, match confidence, photo order)` to try in turn.

    OpenCV's default match confidence (1.0) leaves out photos whose overlap is plain (sky,
    water), and its result depends on the order of the photos: on three half-overlapping views
    of six test photos, every photo was stitched by one of PANORAMA at 1.0 or SCANS at 1.0 / 0.3
    in the given or the reversed order, never by a single one of them.
    """
    tries = [("panorama", 1.0), ("scans", 1.0), ("scans", 0.3)]
    orders = [list(range(count)), list(range(count))[::-1]]
    return [
        (attempt, confidence, order)
        for attempt, confidence in tries
        if mode in ("auto", attempt)
        for order in orders
    ]


def empty_border(panorama):
    """Where the stitch has no content: black (0, 0, 0) pixels connected to the image border
    (`stitch` lifts the photos' own pure black pixels to 1 first, so they are never taken for
    the border; black pixels inside the picture are kept)."""
    import cv2

    black = np.all(panorama == 0, axis=-1).astype(np.uint8)
    count, labels = cv2.connectedComponents(black, connectivity=4)
    edge_labels = np.unique(
        np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])[
            np.concatenate([black[0], black[-1], black[:, 0], black[:, -1]]) > 0
        ]
    )
    if count == 1:  # no black pixel at all
        return np.zeros(black.shape, bool)
    return np.isin(labels, edge_labels) & (black > 0)


def crop_to_content(panorama):
    """The largest axis-aligned rectangle of `panorama` free of the empty warp border
    (`empty_border`), found greedily: drop the border row or column holding the most empty
    pixels until none remains."""
    filled = ~empty_border(panorama)
    top, bottom, left, right = 0, filled.shape[0], 0, filled.shape[1]
    while bottom - top > 1 and right - left > 1:
        window = filled[top:bottom, left:right]
        if window.all():
            break
        empty = {
            "top": (~window[0]).mean(),
            "bottom": (~window[-1]).mean(),
            "left": (~window[:, 0]).mean(),
            "right": (~window[:, -1]).mean(),
        }
        side = max(empty, key=empty.get)
        top += side == "top"
        bottom -= side == "bottom"
        left += side == "left"
        right -= side == "right"
    return panorama[top:bottom, left:right]


def stitch(photos, mode="auto", crop=True):
    """Stitch overlapping photos into one image.

    Args:
        photos: list of uint8 RGB arrays `(H, W, 3)`, at least two, in any order.
        mode: str. "auto" (PANORAMA, then SCANS), "panorama" or "scans". Defaults to "auto".
        crop: bool. Crop the empty border left by warping. Defaults to True.

    Returns:
        `(panorama uint8 RGB, mode used)`.

    Raises:
        InputError: fewer than two photos, an unknown mode, or no stitch using every photo
            (one line saying why and what to try).
    """
    if mode not in STITCH_MODES:
        raise InputError(f"mode {mode!r} is not a stitching mode; choose one of {STITCH_MODES}.")
    photos = [np.array(np.asarray(p, np.uint8)[..., :3]) for p in photos]  # copies
    for photo in photos:  # pure black marks the empty border of the stitch (`empty_border`)
        photo[np.all(photo == 0, axis=-1)] = 1
    if len(photos) < 2:
        raise InputError(
            f"a panorama needs at least two overlapping photos; received {len(photos)}."
        )
    reasons = []
    for attempt, confidence, order in _attempts(mode, len(photos)):
        status, panorama, used = _stitch_once([photos[i] for i in order], attempt, confidence)
        if panorama is None:
            reason = _STATUS_HINTS.get(status, f"status {status}")
        elif len(used) < len(photos):
            left_out = sorted(order[i] + 1 for i in range(len(order)) if i not in used)
            reason = f"could not place photo(s) {', '.join(map(str, left_out))}"
        else:
            cropped = crop_to_content(panorama)
            if _plausible(cropped, panorama, photos):
                return (cropped if crop else panorama), attempt
            reason = f"implausible {panorama.shape[1]}x{panorama.shape[0]} result"
        if f"{attempt}: {reason}" not in reasons:
            reasons.append(f"{attempt}: {reason}")
    hint = (
        "; or try mode scans (flat scenes, a camera moving sideways)" if mode == "panorama" else ""
    )
    raise InputError(
        f"could not stitch the {len(photos)} photos ({'; '.join(reasons)}); {_ADVICE}{hint}."
    )


def stylize_panorama(stylizer, panorama, style=None, strength=1.0):
    """The stitched image stylised as one picture by a tiled `serving.inference.Stylizer`
    (tiles blended at their seams); uint8 RGB."""
    from keras_styletransfer.images import to_uint8

    return to_uint8(stylizer([panorama], style=style, strength=strength)[0])
