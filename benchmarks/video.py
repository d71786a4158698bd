"""Video flicker: frame by frame vs optical-flow temporal smoothing, on synthetic panned clips.

Each clip is a held-out photo (`data.offline_photos`, never trained on) seen through a window
panned a few pixels a frame, with Gaussian sensor noise; the shipped multi-style model stylises it
with `--temporal none` and with `--temporal flow` at several weights. For each: flicker (grey
levels the output changes between frames beyond the input's change, along the flow; see
`serving.video`), the distance from the frame-by-frame result (what smoothing costs: ghosting /
blur), and seconds per frame. Figures to `benchmarks/results/video.json`.

    python benchmarks/video.py [--styles ink,watercolour] [--frames 16] [--weights 0.3,0.6,0.8]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "video.json")
# (photo, window height x width, step rows x columns per frame, noise in grey levels)
CLIPS = (
    ("chelsea", (192, 256), (1, 3), 2.0),
    ("flower", (256, 320), (0, 4), 3.0),
)


def measure(styles, frames, weights):
    from keras_styletransfer.data.offline_photos import load_photo
    from keras_styletransfer.serving.inference import Stylizer
    from keras_styletransfer.serving.pretrained import load_pretrained
    from keras_styletransfer.serving.video import flicker, panned_clip, stylize_frames

    generator, names = load_pretrained()
    stylizer = Stylizer(generator, names)
    rows = []
    for photo, size, step, noise in CLIPS:
        clip = panned_clip(load_photo(photo), frames, size, step, noise, seed=0)
        for style in styles:
            render = lambda batch, style=style: stylizer(batch, style=style)  # noqa: E731
            start = time.perf_counter()
            plain = [out for _, out in stylize_frames(render, clip, "none")]
            seconds = (time.perf_counter() - start) / frames
            modes = [("none", 0.0, plain, seconds)]
            for weight in weights:
                start = time.perf_counter()
                smooth = [out for _, out in stylize_frames(render, clip, "flow", weight)]
                modes.append(("flow", weight, smooth, (time.perf_counter() - start) / frames))
            for temporal, weight, outputs, per_frame in modes:
                figures = flicker(clip, outputs)
                distance = np.mean(
                    [np.abs(o.astype(np.float32) - p) for o, p in zip(outputs, plain, strict=True)]
                )
                row = {
                    "clip": photo,
                    "style": style,
                    "temporal": temporal,
                    "weight": weight,
                    "flicker": round(figures["flicker"], 3),
                    "output_change": round(figures["output_change"], 3),
                    "input_change": round(figures["input_change"], 3),
                    "consistent_fraction": round(figures["consistent_fraction"], 3),
                    "distance_from_frame_by_frame": round(float(distance), 3),
                    "seconds_per_frame": round(per_frame, 4),
                }
                rows.append(row)
                print(json.dumps(row), flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", default="ink,watercolour")
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--weights", default="0.3,0.6,0.8")
    parser.add_argument("--out", default=RESULTS)
    args = parser.parse_args(argv)
    weights = [float(w) for w in args.weights.split(",")]
    rows = measure(args.styles.split(","), args.frames, weights)
    result = {
        "clips": [
            {"photo": p, "size": list(s), "step": list(t), "noise": n} for p, s, t, n in CLIPS
        ],
        "frames": args.frames,
        "rows": rows,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as file:
        json.dump(result, file, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
