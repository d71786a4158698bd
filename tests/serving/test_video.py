"""Video: optical-flow warping, the flicker measure, temporal smoothing, reading and writing video
files, and the `stylize` command on a short clip."""

import contextlib
import io
import os

import numpy as np
import pytest
from PIL import Image

from keras_styletransfer.cli.main import main
from keras_styletransfer.errors import InputError
from keras_styletransfer.serving.video import (
    VideoWriter,
    check_temporal,
    flicker,
    frame_motion,
    is_video_file,
    panned_clip,
    read_frames,
    stylize_frames,
    stylize_video,
    video_info,
    warp,
)


def texture(height=160, width=240, seed=0):
    """A smooth random colour texture (what optical flow can follow), uint8 RGB."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0, 255, (height // 8 + 1, width // 8 + 1, 3)).astype(np.float32)
    size = (coarse.shape[1] * 8, coarse.shape[0] * 8)
    image = Image.fromarray(coarse.astype(np.uint8)).resize(size, Image.BICUBIC)
    return np.asarray(image)[:height, :width]


def noisy_render(seed=0, noise=0.08):
    """A stand-in for a generator that flickers: the frame plus fresh noise on every call."""
    rng = np.random.default_rng(seed)

    def render(frames):
        return [
            np.clip(f.astype(np.float32) / 127.5 - 1 + rng.normal(0, noise, f.shape), -1, 1)
            for f in frames
        ]

    return render


def identity_render(frames):
    return [f.astype(np.float32) / 127.5 - 1 for f in frames]


def write_clip(path, frames, fps=10):
    height, width = frames[0].shape[:2]
    with VideoWriter(path, fps, width, height) as writer:
        for frame in frames:
            writer.write(frame)


def run_cli(*args):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        status = main(list(args))
    return status, stdout.getvalue(), stderr.getvalue()


def test_flow_warps_the_previous_frame_onto_the_current_one():
    photo = texture()
    previous, current = photo[10:90, 10:130], photo[10:90, 13:133]  # the view moves 3 px right
    backward, mask = frame_motion(previous, current)
    # Away from the borders the flow from t to t-1 is the shift: +3 columns, 0 rows.
    np.testing.assert_allclose(np.median(backward[10:-10, 10:-10], axis=(0, 1)), [3, 0], atol=0.2)
    warped = warp(previous, backward)
    error = np.abs(warped - current.astype(np.float32))[10:-10, 10:-10]
    assert error.mean() < 2.0  # grey levels
    # The 3 columns that entered the view on the right cannot come from the previous frame.
    assert mask[:, -2:].mean() < 0.2 and mask[10:-10, 10:-10].mean() > 0.95


def test_flow_of_large_frames_is_computed_small_and_scaled_back():
    from keras_styletransfer.data.offline_photos import load_photo

    photo = np.asarray(Image.fromarray(load_photo("china")).resize((1400, 934)))
    previous, current = photo[:700, :1200], photo[:700, 7:1207]  # 7 px: wider than 512
    backward, mask = frame_motion(previous, current)
    assert backward.shape == (700, 1200, 2) and mask.shape == (700, 1200)
    np.testing.assert_allclose(np.median(backward[50:-50, 50:-50], axis=(0, 1)), [7, 0], atol=0.5)
    error = np.abs(warp(previous, backward) - current)[50:-50, 50:-50].mean()
    assert error < 0.1 * np.abs(previous.astype(float) - current)[50:-50, 50:-50].mean()


def test_flicker_is_zero_for_a_faithful_output_and_grows_with_frame_noise():
    clip = panned_clip(texture(), frames=6, size=(96, 128), step=(1, 3), noise=2.0)
    faithful = flicker(clip, clip)
    assert abs(faithful["flicker"]) < 1e-9 and faithful["input_change"] > 0
    assert faithful["frames"] == 6 and faithful["consistent_fraction"] > 0.9
    noisy = [out for _, out in stylize_frames(noisy_render(), clip, "none")]
    assert flicker(clip, noisy)["flicker"] > 5.0


def test_flow_smoothing_removes_most_of_the_flicker_and_stays_close_to_the_frames():
    clip = panned_clip(texture(), frames=10, size=(96, 128), step=(1, 3), noise=2.0)
    plain = [out for _, out in stylize_frames(noisy_render(), clip, "none")]
    smooth = [out for _, out in stylize_frames(noisy_render(), clip, "flow", 0.6)]
    none_flicker = flicker(clip, plain)["flicker"]
    flow_flicker = flicker(clip, smooth)["flicker"]
    assert flow_flicker < 0.6 * none_flicker, (flow_flicker, none_flicker)
    # Smoothing follows the motion: the output is still the current frame, not a ghost of
    # earlier ones (the identity render smoothed stays within a few grey levels of the input).
    followed = [out for _, out in stylize_frames(identity_render, clip, "flow", 0.6)]
    assert np.abs(followed[-1][8:-8, 8:-8].astype(float) - clip[-1][8:-8, 8:-8]).mean() < 3.0
    first = [out for _, out in stylize_frames(noisy_render(), clip, "flow", 0.0)]
    np.testing.assert_array_equal(first[0], plain[0])  # weight 0 = frame by frame


@pytest.mark.parametrize("suffix", [".mp4", ".avi", ".mkv", ".mov"])
def test_stylize_video_keeps_size_rate_and_frame_count(tmp_path, suffix):
    clip = panned_clip(texture(), frames=7, size=(48, 64), step=(0, 2), noise=1.0)
    source = str(tmp_path / f"in{suffix}")
    write_clip(source, clip, fps=8)
    target = str(tmp_path / f"out{suffix}")
    calls = []
    summary = stylize_video(
        identity_render, source, target, batch_size=3, on_frame=lambda i, *_: calls.append(i)
    )
    assert summary["frames"] == 7 and calls == list(range(7))
    info = video_info(target)
    assert (info.width, info.height, round(info.fps)) == (64, 48, 8)
    frames = list(read_frames(target))
    assert len(frames) == 7 and frames[0].shape == (48, 64, 3)
    # The identity render through two lossy encodings still looks like the input.
    assert np.abs(frames[3].astype(float) - clip[3]).mean() < 12
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp")]
    short = stylize_video(identity_render, source, str(tmp_path / f"short{suffix}"), max_frames=2)
    assert short["frames"] == 2 and len(list(read_frames(tmp_path / f"short{suffix}"))) == 2


def test_prepared_frames_are_what_is_rendered_smoothed_and_reported(tmp_path):
    clip = panned_clip(texture(), frames=5, size=(48, 64), step=(0, 2), noise=1.0)
    source = str(tmp_path / "in.avi")
    write_clip(source, clip)
    seen = []
    summary = stylize_video(
        identity_render,
        source,
        str(tmp_path / "out.avi"),
        prepare=lambda index, frame: 255 - frame,  # a negative: far from every frame read
        on_frame=lambda index, frame, output: seen.append((index, frame, output)),
        batch_size=2,
    )
    assert summary["frames"] == 5 and [index for index, _, _ in seen] == list(range(5))
    read = list(read_frames(source))
    for index, frame, output in seen:
        np.testing.assert_array_equal(frame, 255 - read[index])  # on_frame gets the prepared
        assert np.abs(output.astype(float) - frame).mean() < 3  # the identity of the prepared


def test_video_errors_are_one_line(tmp_path):
    assert is_video_file("a.MP4") and not is_video_file("a.png")
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    with pytest.raises(InputError, match="cannot open"):
        video_info(fake)
    with pytest.raises(InputError, match="not found"):
        list(read_frames(tmp_path / "none.mp4"))
    with pytest.raises(InputError, match="temporal='blur'"):
        check_temporal("blur")
    with pytest.raises(InputError, match=r"in \[0, 1\)"):
        check_temporal("flow", 1.0)
    with pytest.raises(InputError, match="write a video as"):
        VideoWriter(tmp_path / "out.gif", 10, 8, 8)
    with pytest.raises(InputError, match="too small"):
        panned_clip(np.zeros((50, 50, 3), np.uint8), frames=10, size=(40, 40), step=(1, 3))
    # A failing render leaves no half-written video behind.
    source = str(tmp_path / "in.avi")
    write_clip(source, panned_clip(texture(), 3, (32, 32), (0, 1)))

    def broken(frames):
        raise InputError("boom")

    with pytest.raises(InputError, match="boom"):
        stylize_video(broken, source, str(tmp_path / "out.avi"))
    assert sorted(os.listdir(tmp_path)) == ["fake.mp4", "in.avi"]


def test_stylize_command_writes_videos_beside_images(tmp_path):
    from tests import testing

    model = str(tmp_path / "g.keras")
    testing.tiny_resnet().save(model)
    clip = panned_clip(texture(), frames=5, size=(32, 48), step=(0, 2), noise=1.0)
    write_clip(str(tmp_path / "clip.mp4"), clip)
    Image.fromarray(clip[0]).save(tmp_path / "clip.png")  # same stem as the video
    out = str(tmp_path / "out")
    status, stdout, _ = run_cli(
        "stylize", "--model", model, "--out", out,
        str(tmp_path / "clip.mp4"), str(tmp_path / "clip.png"),
    )  # fmt: skip
    assert status == 0, stdout
    assert sorted(os.listdir(out)) == ["clip.mp4", "clip.png", "contact_sheet.png"]
    assert "stylised 5 frame(s)" in stdout and "flow smoothing, weight 0.6" in stdout
    assert "flicker" in stdout
    assert len(list(read_frames(os.path.join(out, "clip.mp4")))) == 5

    status, stdout, stderr = run_cli(
        "stylize", "--model", model, "--out", out, str(tmp_path / "clip.mp4")
    )
    assert status == 2 and "--overwrite" in stderr
    status, stdout, _ = run_cli(
        "stylize", "--model", model, "--out", out, "--overwrite", "--temporal", "none",
        "--max-frames", "3", str(tmp_path / "clip.mp4"),
    )  # fmt: skip
    assert status == 0 and "stylised 3 frame(s)" in stdout and "frame by frame" in stdout
    status, _, stderr = run_cli(
        "stylize", "--model", model, "--out", out, "--temporal-weight", "2",
        str(tmp_path / "clip.mp4"),
    )  # fmt: skip
    assert status == 2 and "[0, 1)" in stderr and len(stderr.strip().splitlines()) == 1
    status, _, stderr = run_cli(
        "stylize", "--model", model, "--out", out, "--overwrite", "--style", "ink",
        str(tmp_path / "clip.mp4"),
    )  # fmt: skip
    assert status == 2 and "one style only" in stderr and len(stderr.strip().splitlines()) == 1


def test_stylize_finds_the_videos_in_a_folder(tmp_path):
    from tests import testing

    model = str(tmp_path / "g.keras")
    testing.tiny_resnet().save(model)
    folder = tmp_path / "clips"
    folder.mkdir()
    write_clip(str(folder / "a.avi"), panned_clip(texture(), 3, (32, 48), (0, 2)))
    out = str(tmp_path / "out")
    status, stdout, stderr = run_cli("stylize", "--model", model, "--out", out, str(folder))
    assert status == 0, stderr  # a folder of videos only is not "no readable images"
    assert os.listdir(out) == ["a.avi"] and "stylised 3 frame(s)" in stdout
    Image.fromarray(texture(32, 48)).save(folder / "b.png")
    status, stdout, stderr = run_cli(
        "stylize", "--model", model, "--out", out, "--overwrite", str(folder)
    )
    assert status == 0, stderr
    assert sorted(os.listdir(out)) == ["a.avi", "b.png", "contact_sheet.png"]


def test_flow_smoothing_reduces_the_shipped_models_flicker_on_a_panned_photo():
    """The README's "Video" figures in small: flow beats frame by frame for every style."""
    from keras_styletransfer.data.offline_photos import load_photo
    from keras_styletransfer.serving.inference import Stylizer
    from keras_styletransfer.serving.pretrained import load_pretrained

    generator, names = load_pretrained()
    stylizer = Stylizer(generator, names)
    clip = panned_clip(load_photo("chelsea"), 8, (128, 160), (1, 3), 2.0)
    for style in ("watercolour", "ink"):
        render = lambda frames, style=style: stylizer(frames, style=style)  # noqa: E731
        plain = flicker(clip, [o for _, o in stylize_frames(render, clip, "none")])
        smooth = flicker(clip, [o for _, o in stylize_frames(render, clip, "flow")])
        assert smooth["output_change"] < 0.7 * plain["output_change"], (style, plain, smooth)
