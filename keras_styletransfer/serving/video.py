"""Stylise videos frame by frame, with optical-flow temporal smoothing, and measure flicker.

`stylize_video(render, "clip.mp4", "out/clip.mp4", temporal="flow")` reads the frames with OpenCV,
stylises them in batches through `render` (a `Stylizer` bound to a style, or any function from a
list of uint8 RGB frames to a list of float images in [-1, 1]), and writes a video of the same
size, frame rate and container.

Temporal smoothing (`temporal="flow"`): a generator applied to each frame alone reacts to sensor
noise and small shifts differently in every frame, and the output flickers. For each frame t the
dense optical flow between the *input* frames t and t-1 (OpenCV Farneback, both directions) warps
the previous *output* onto frame t; where the flow is consistent (forward-backward check:
Sundaram et al. 2010, as Ruder et al. 2016 use it for video style transfer) the output is
`weight * warped previous output + (1 - weight) * stylised frame`, elsewhere (occlusions,
disocclusions, the border entering the view) the stylised frame alone.

Flicker (`flicker`): the mean over consistent pixels of |out_t - warp(out_{t-1})| minus the same
for the input frames, |in_t - warp(in_{t-1})|, with one warp computed from the input frames: the
change the output adds beyond the change already in the video, in [0, 255] grey levels.

Measured with `benchmarks/video.py` (held-out photos panned 3-4 px a frame with sensor noise, the
shipped model; README "Video without flicker"): flow smoothing at weight 0.6 lowered the output's
frame-to-frame change 1.6-3x for every clip and style (watercolour on chelsea: flicker +1.64 ->
-0.99 grey levels) while moving frames 0.5-1.7 grey levels from the frame-by-frame result; hence
the default.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from keras_styletransfer.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
TEMPORAL_MODES = ("none", "flow")
DEFAULT_TEMPORAL = "flow"
DEFAULT_TEMPORAL_WEIGHT = 0.6
# Codec per container: MPEG-4 part 2 where the container takes it, Motion JPEG in AVI / MKV.
_FOURCC = {".mp4": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


def is_video_file(path):
    """Whether `path` names a video this module reads (by its suffix)."""
    return os.path.splitext(os.fspath(path))[1].lower() in VIDEO_SUFFIXES


def check_temporal(temporal, weight=DEFAULT_TEMPORAL_WEIGHT):
    """`(temporal, weight)` checked: a mode of `TEMPORAL_MODES` and a weight in [0, 1)."""
    if temporal not in TEMPORAL_MODES:
        raise InputError(
            f"temporal={temporal!r} is not a mode; choose one of {', '.join(TEMPORAL_MODES)}."
        )
    if not isinstance(weight, int | float) or not 0 <= weight < 1:
        raise InputError(
            f"temporal weight {weight!r} must be in [0, 1) (0: no smoothing; "
            f"{DEFAULT_TEMPORAL_WEIGHT} by default)."
        )
    return temporal, float(weight)


@dataclasses.dataclass(frozen=True)
class VideoInfo:
    """A video's frame size, rate and (container-reported, approximate) frame count."""

    width: int
    height: int
    fps: float
    frame_count: int


def video_info(path):
    """The `VideoInfo` of a readable video, else a one-line `InputError`."""
    import cv2

    capture = _open(path)
    try:
        fps = capture.get(cv2.CAP_PROP_FPS)
        return VideoInfo(
            width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            fps=float(fps) if fps and np.isfinite(fps) and fps > 0 else 25.0,
            frame_count=max(0, int(capture.get(cv2.CAP_PROP_FRAME_COUNT))),
        )
    finally:
        capture.release()


def _open(path):
    import cv2

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputError(f"video {path!r} not found.")
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        capture.release()
        raise InputError(
            f"cannot open {path!r} as a video (damaged, or a codec OpenCV lacks); convert it "
            "to H.264 / MPEG-4 .mp4 first (e.g. ffmpeg -i IN -c:v libx264 OUT.mp4)."
        )
    return capture


def read_frames(path, max_frames=None):
    """Yield the frames of a video as uint8 RGB `(H, W, 3)` arrays.

    Raises:
        InputError: the file cannot be opened, or has no frame.
    """
    import cv2

    capture = _open(path)
    count = 0
    try:
        while max_frames is None or count < max_frames:
            ok, frame = capture.read()
            if not ok:
                break
            count += 1
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
    if count == 0:
        raise InputError(f"{os.fspath(path)!r} holds no readable video frame.")


class VideoWriter:
    """Write uint8 RGB frames to a video file (codec chosen by the suffix), atomically.

    Frames go to a hidden temporary file beside the destination, renamed over it by `close()`;
    an error on the way removes the temporary file and leaves any previous file whole. (The
    encoders round an odd width or height down to even; decoded videos are almost always even.)
    """

    def __init__(self, path, fps, width, height):
        import cv2

        from keras_styletransfer.files import temporary_path

        self.path = os.fspath(path)
        suffix = os.path.splitext(self.path)[1].lower()
        if suffix not in _FOURCC:
            raise InputError(
                f"{self.path!r}: write a video as {', '.join(VIDEO_SUFFIXES)}; received "
                f"{suffix or 'no suffix'}."
            )
        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        self.temporary = temporary_path(self.path)
        self.size = (int(width), int(height))
        self.writer = cv2.VideoWriter(
            self.temporary, cv2.VideoWriter_fourcc(*_FOURCC[suffix]), float(fps), self.size
        )
        if not self.writer.isOpened():
            self._discard()
            raise InputError(
                f"cannot write a {suffix} video to {self.path!r} (OpenCV has no encoder for it "
                "or the folder is not writable); try .avi or another folder."
            )

    def write(self, frame):
        import cv2

        frame = np.asarray(frame)
        if frame.shape[1::-1] != self.size:
            raise InputError(
                f"frame of size {frame.shape[1]}x{frame.shape[0]} for a video of "
                f"{self.size[0]}x{self.size[1]}."
            )
        self.writer.write(cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2BGR))

    def _discard(self):
        self.writer = getattr(self, "writer", None)
        if self.writer is not None:
            self.writer.release()
        if os.path.exists(self.temporary):
            os.remove(self.temporary)

    def close(self):
        from keras_styletransfer.files import disk_error

        self.writer.release()
        try:
            os.replace(self.temporary, self.path)
        except OSError as error:
            self._discard()
            raise disk_error(error, self.path) from None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.close()
        else:
            self._discard()


# --- optical flow ---------------------------------------------------------------------------


def _gray(frame):
    import cv2

    return cv2.cvtColor(np.asarray(frame, np.uint8), cv2.COLOR_RGB2GRAY)


def farneback(source, target):
    """Dense flow `(H, W, 2)` from uint8 RGB `source` to `target`: the pixel (x, y) of `source`
    moves to (x, y) + flow[y, x] in `target` (OpenCV Farneback, its usual parameters)."""
    import cv2

    return cv2.calcOpticalFlowFarneback(
        _gray(source),
        _gray(target),
        None,
        pyr_scale=0.5,
        levels=3,
        winsize=15,
        iterations=3,
        poly_n=5,
        poly_sigma=1.2,
        flags=0,
    )


def warp(image, flow):
    """`image` resampled at (x, y) + flow[y, x] (bilinear, borders replicated): with the flow
    from frame t to frame t-1, the previous frame seen from frame t."""
    import cv2

    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height))
    map_x = grid_x + flow[..., 0]
    map_y = grid_y.astype(np.float32) + flow[..., 1]
    return cv2.remap(
        np.asarray(image, np.float32),
        map_x,
        map_y,
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )


def consistent_mask(backward, forward):
    """Where the flow can be trusted, as a float mask `(H, W)`.

    `backward` is the flow from frame t to t-1, `forward` from t-1 to t. Following a pixel back
    and forth must return it to its place (|b + f(x + b)|^2 <= 0.01 (|b|^2 + |f(x + b)|^2) + 0.5),
    and its position in frame t-1 must lie inside that frame; occluded and newly visible pixels
    fail.
    """
    height, width = backward.shape[:2]
    forward_there = warp(forward, backward)
    sum_squared = np.sum((backward + forward_there) ** 2, axis=-1)
    magnitude = np.sum(backward**2, axis=-1) + np.sum(forward_there**2, axis=-1)
    grid_x, grid_y = np.meshgrid(np.arange(width), np.arange(height))
    source_x, source_y = grid_x + backward[..., 0], grid_y + backward[..., 1]
    inside = (source_x >= 0) & (source_x <= width - 1) & (source_y >= 0) & (source_y <= height - 1)
    return ((sum_squared <= 0.01 * magnitude + 0.5) & inside).astype(np.float32)


# Optical flow is computed on frames scaled down to this long side (and scaled back up): at
# 1920x1080 the full-size flows and check took 5.4 s a frame on 2 cores; smooth motion fields lose
# little at this scale.
FLOW_LONG_SIDE = 512


def frame_motion(previous, current, long_side=FLOW_LONG_SIDE):
    """`(backward flow t -> t-1, consistency mask)` between two uint8 RGB input frames, computed
    at most `long_side` pixels wide or high and resized to the frames' size."""
    import cv2

    height, width = current.shape[:2]
    scale = min(1.0, long_side / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small_previous = cv2.resize(previous, size, interpolation=cv2.INTER_AREA)
        small_current = cv2.resize(current, size, interpolation=cv2.INTER_AREA)
        backward, mask = frame_motion(small_previous, small_current, long_side)
        backward = cv2.resize(backward, (width, height), interpolation=cv2.INTER_LINEAR)
        backward *= np.array([width / size[0], height / size[1]], np.float32)
        mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_NEAREST)
        return backward, mask
    backward = farneback(current, previous)
    forward = farneback(previous, current)
    return backward, consistent_mask(backward, forward)


# --- temporal smoothing and flicker -------------------------------------------------------------


class TemporalSmoother:
    """Blend each stylised frame with the previous output warped onto it (see the module).

    `smoother(input_frame, stylised)` takes the uint8 RGB input frame and its stylised float
    frame in [-1, 1] and returns the output frame (float, [-1, 1]); call it on frames in order.
    """

    def __init__(self, weight=DEFAULT_TEMPORAL_WEIGHT):
        self.weight = check_temporal("flow", weight)[1]
        self.previous_input = None
        self.previous_output = None

    def __call__(self, input_frame, stylised):
        stylised = np.asarray(stylised, np.float32)
        if self.previous_input is None or self.weight == 0:
            output = stylised
        else:
            backward, mask = frame_motion(self.previous_input, input_frame)
            warped = warp(self.previous_output, backward)
            blend = (self.weight * mask)[..., np.newaxis]
            output = blend * warped + (1 - blend) * stylised
        self.previous_input, self.previous_output = input_frame, output
        return output


class FlickerMeter:
    """Accumulates `flicker` over a video, frame by frame (see the module docstring)."""

    def __init__(self):
        self.previous = None
        self.output_change, self.input_change, self.pixels, self.frames = 0.0, 0.0, 0.0, 0

    def add(self, input_frame, output_frame):
        """Count one frame: uint8 RGB input and uint8 RGB output of the same size."""
        input_frame = np.asarray(input_frame, np.float32)
        output_frame = np.asarray(output_frame, np.float32)
        if self.previous is not None:
            previous_input, previous_output = self.previous
            backward, mask = frame_motion(previous_input, input_frame)
            mask = mask[..., np.newaxis]
            output_change = np.abs(output_frame - warp(previous_output, backward))
            input_change = np.abs(input_frame - warp(previous_input, backward))
            self.output_change += float(np.sum(output_change * mask))
            self.input_change += float(np.sum(input_change * mask))
            self.pixels += float(mask.sum()) * input_frame.shape[-1]
        self.previous = (input_frame, output_frame)
        self.frames += 1

    def result(self):
        """`{"flicker", "output_change", "input_change", "consistent_fraction", "frames"}` in
        grey levels (0-255); flicker = output_change - input_change."""
        pixels = max(self.pixels, 1.0)
        output_change, input_change = self.output_change / pixels, self.input_change / pixels
        shape_pixels = 0 if self.previous is None else self.previous[0].size
        transitions = max(self.frames - 1, 1)
        return {
            "flicker": output_change - input_change,
            "output_change": output_change,
            "input_change": input_change,
            "consistent_fraction": self.pixels / max(shape_pixels * transitions, 1),
            "frames": self.frames,
        }


def flicker(input_frames, output_frames):
    """The flicker of a stylised clip (see the module docstring): uint8 RGB frame sequences."""
    meter = FlickerMeter()
    for input_frame, output_frame in zip(input_frames, output_frames, strict=True):
        meter.add(input_frame, output_frame)
    return meter.result()


# --- the whole video ---------------------------------------------------------------------------


def stylize_frames(
    render, frames, temporal=DEFAULT_TEMPORAL, weight=DEFAULT_TEMPORAL_WEIGHT, batch_size=4
):
    """Yield `(input frame, output frame)` uint8 RGB pairs for an iterable of input frames.

    Args:
        render: callable. A list of uint8 RGB frames -> a list of float frames in [-1, 1] of
            the same sizes (e.g. `lambda frames: stylizer(frames, style=...)`).
        frames: iterable of uint8 RGB frames `(H, W, 3)`.
        temporal: str. "none" (each frame alone) or "flow" (temporal smoothing). Defaults to
            `DEFAULT_TEMPORAL`.
        weight: float in [0, 1). Weight of the warped previous output. Defaults to
            `DEFAULT_TEMPORAL_WEIGHT`.
        batch_size: int. Frames rendered per call. Defaults to 4.
    """
    from keras_styletransfer.images import to_uint8

    temporal, weight = check_temporal(temporal, weight)
    smoother = TemporalSmoother(weight) if temporal == "flow" else None
    chunk = []

    def flush():
        for frame, rendered in zip(chunk, render(list(chunk)), strict=True):
            output = smoother(frame, rendered) if smoother else rendered
            yield frame, to_uint8(np.clip(output, -1.0, 1.0))
        chunk.clear()

    for frame in frames:
        chunk.append(frame)
        if len(chunk) >= batch_size:
            yield from flush()
    if chunk:
        yield from flush()


def stylize_video(
    render,
    input_path,
    output_path,
    temporal=DEFAULT_TEMPORAL,
    weight=DEFAULT_TEMPORAL_WEIGHT,
    batch_size=4,
    max_frames=None,
    measure=True,
    on_frame=None,
    prepare=None,
):
    """Stylise a video file into another (same size and frame rate; codec from the suffix).

    Args:
        render: callable. See `stylize_frames`.
        input_path: str. A video OpenCV reads (.mp4, .avi, .mov, .mkv).
        output_path: str. The video to write (checked by the caller with
            `files.check_output_file`); written atomically.
        temporal, weight, batch_size: see `stylize_frames`.
        max_frames: int or None. Stop after this many frames. Defaults to all.
        measure: bool. Measure the flicker (two more optical flows per frame). Defaults to True.
        on_frame: callable or None. Called once per written frame, in order, as
            `on_frame(index, input_frame, output_frame)` (uint8 RGB; the input as rendered, so
            the prepared frame when `prepare`): progress, or more outputs. Defaults to None.
        prepare: callable or None. `prepare(index, frame)` -> the uint8 RGB frame of the same
            size to render in place of the frame read (e.g. `restore --degrade`'s degradation);
            the optical flow and the flicker then follow the prepared frames. Defaults to None.

    Returns:
        dict: `frames`, `fps`, `width`, `height`, `temporal`, `weight`, and `flicker`'s figures
        when `measure`.
    """
    check_temporal(temporal, weight)
    info = video_info(input_path)
    meter = FlickerMeter() if measure else None
    frames = read_frames(input_path, max_frames)
    if prepare is not None:
        frames = (prepare(index, frame) for index, frame in enumerate(frames))
    count = 0
    with VideoWriter(output_path, info.fps, info.width, info.height) as writer:
        for input_frame, output_frame in stylize_frames(
            render, frames, temporal, weight, batch_size
        ):
            writer.write(output_frame)
            if meter:
                meter.add(input_frame, output_frame)
            if on_frame:
                on_frame(count, input_frame, output_frame)
            count += 1
    summary = {
        "frames": count,
        "fps": info.fps,
        "width": info.width,
        "height": info.height,
        "temporal": temporal,
        "weight": weight if temporal == "flow" else 0.0,
    }
    if meter:
        summary.update({key: value for key, value in meter.result().items() if key != "frames"})
    return summary


def panned_clip(photo, frames=12, size=(96, 128), step=(1, 3), noise=2.0, seed=0):
    """A synthetic clip: a window of `size` (height, width) panned across `photo` by `step`
    (rows, columns) pixels a frame, with Gaussian sensor noise of `noise` grey levels (real
    cameras' noise is what makes frame-by-frame stylisation flicker). uint8 RGB frames."""
    photo = np.asarray(photo)
    height, width = size
    last_top = (frames - 1) * step[0]
    last_left = (frames - 1) * step[1]
    if photo.shape[0] < height + last_top or photo.shape[1] < width + last_left:
        raise InputError(
            f"a photo of {photo.shape[1]}x{photo.shape[0]} is too small to pan a "
            f"{width}x{height} window {frames} frames by {step}; use a smaller size or step."
        )
    rng = np.random.default_rng(seed)
    clip = []
    for index in range(frames):
        top, left = index * step[0], index * step[1]
        window = photo[top : top + height, left : left + width].astype(np.float32)
        window = window + rng.normal(0.0, noise, window.shape)
        clip.append(np.clip(np.round(window), 0, 255).astype(np.uint8))
    return clip
