"""The one image decoder (`data.decoding`): content, not names; the pixel limit from the header
before decoding; damaged files refused alike by training, stylize and serve_bytes; and, by
property-based tests, never anything but a valid image or an InputError."""

import io
import logging
import struct
import zlib

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from keras_styletransfer.data.decoding import (
    decode_image_tf,
    image_header_tf,
    inspect_image,
    read_image,
)
from keras_styletransfer.data.folders import from_image_folder, scan_folder
from keras_styletransfer.errors import DataSourceError, InputError
from keras_styletransfer.serving.inference import collect_inputs

LIMIT = 64 * 64  # a small pixel limit keeps the generated images tiny


def encode(array, image_format, **options):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declared_png(width, height):
    """A valid-looking PNG whose header declares width x height, with (at most) one row of
    data: small on disk, huge once decoded."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * (min(width, 4096) + 1))
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", data)
        + png_chunk(b"IEND", b"")
    )


def bad_checksum_png():
    data = bytearray(encode(np.full((6, 7, 3), 90, np.uint8), "PNG"))
    at = data.find(b"IDAT") + 4
    data[at] ^= 0xFF  # the first byte of the compressed data: the chunk's CRC no longer matches
    return bytes(data)


def tiff_bytes():
    return encode(np.zeros((5, 5, 3), np.uint8), "TIFF")


RGB = np.random.default_rng(0).integers(0, 256, (9, 11, 3), dtype=np.uint8)


@pytest.mark.parametrize("image_format", ["PNG", "JPEG", "GIF", "BMP"])
def test_every_format_has_its_size_read_from_the_header_in_python_and_in_the_graph(image_format):
    data = encode(RGB, image_format)
    known, height, width = image_header_tf(tf.constant(data))
    assert bool(known) and (int(height), int(width)) == (9, 11)
    info = inspect_image(data)
    assert (info.format, info.width, info.height) == (image_format, 11, 9)
    python, graph = read_image(data), decode_image_tf(tf.constant(data)).numpy()
    assert python.shape == graph.shape == (9, 11, 3) and python.dtype == np.uint8
    # Lossless formats decode identically; JPEG decoders (Pillow's and TensorFlow's libjpeg)
    # may round the inverse DCT differently by a few levels.
    tolerance = 4 if image_format == "JPEG" else 0
    assert np.abs(python.astype(int) - graph).max() <= tolerance


def test_a_small_file_declaring_a_huge_image_is_refused_from_its_header():
    data = declared_png(20000, 20000)
    assert len(data) < 2000
    known, height, width = image_header_tf(tf.constant(data))
    assert bool(known) and (int(height), int(width)) == (20000, 20000)
    with pytest.raises(InputError, match="20000x20000 = 400000000 pixels, over the limit"):
        read_image(data)


def test_the_pixel_limit_is_configurable(monkeypatch):
    data = encode(np.zeros((40, 50, 3), np.uint8), "PNG")
    with pytest.raises(InputError, match="50x40 = 2000 pixels, over the limit of 1999"):
        read_image(data, max_pixels=1999)
    monkeypatch.setenv("KERAS_STYLETRANSFER_MAX_PIXELS", "1000")
    with pytest.raises(InputError, match="over the limit of 1000"):
        read_image(data)
    monkeypatch.setenv("KERAS_STYLETRANSFER_MAX_PIXELS", "lots")
    with pytest.raises(InputError, match="KERAS_STYLETRANSFER_MAX_PIXELS must be"):
        read_image(data)


def test_images_are_identified_by_content_not_by_name(tmp_path, caplog):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "tiff_named.png").write_bytes(tiff_bytes())
    (folder / "jpeg_named.dat").write_bytes(encode(RGB, "JPEG"))
    (folder / "notes.txt").write_text("not an image")
    for path in (folder / "a.png", folder / "b.png"):
        path.write_bytes(encode(RGB, "PNG"))
    with caplog.at_level(logging.WARNING):
        scan = scan_folder(folder)
    names = sorted(p.rsplit("/", 1)[-1] for p in scan.files)
    assert names == ["a.png", "b.png", "jpeg_named.dat"]
    assert [p.rsplit("/", 1)[-1] for p, _ in scan.skipped] == ["tiff_named.png"]
    assert "not a PNG, JPEG, GIF or BMP image (TIFF content)" in scan.skipped[0][1]
    paths, _, skipped = collect_inputs([str(folder)])
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == names
    assert skipped[0][1] == scan.skipped[0][1]  # the same reason, word for word
    # Training reads the folder to the end: the TIFF never reaches the pipeline.
    batches = list(from_image_folder(folder, (8, 8, 3), batch_size=3, shuffle=False))
    assert batches[0].shape == (3, 8, 8, 3)


def test_a_png_with_a_bad_checksum_is_refused_alike_by_training_stylize_and_serving(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "bad.png").write_bytes(bad_checksum_png())
    (folder / "good.png").write_bytes(encode(RGB, "PNG"))
    scan = scan_folder(folder)
    assert [p.rsplit("/", 1)[-1] for p, _ in scan.skipped] == ["bad.png"]
    _, _, skipped = collect_inputs([str(folder / "bad.png"), str(folder / "good.png")])
    assert skipped == scan.skipped
    assert "is a damaged PNG file" in skipped[0][1] and "re-save" in skipped[0][1]
    with pytest.raises(tf.errors.InvalidArgumentError):
        decode_image_tf(tf.constant(bad_checksum_png()))  # the graph's decoder refuses it too


def test_a_folder_of_only_unreadable_images_is_one_clear_error(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.png").write_bytes(tiff_bytes())
    with pytest.raises(DataSourceError, match=r"none of the 1 image files.*TIFF content"):
        scan_folder(folder)
    with pytest.raises(InputError, match=r"no readable images among the inputs.*TIFF content"):
        collect_inputs([str(folder)])


# --- property-based: the decoder returns a valid image or raises InputError, nothing else -------


def assert_valid_or_refused(data, max_pixels=LIMIT):
    try:
        image = read_image(data, max_pixels=max_pixels)
    except InputError as error:
        assert "\n" not in str(error)
        return None
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[-1] == 3
    assert 1 <= image.shape[0] * image.shape[1] <= max_pixels
    return image


def _valid_images():
    return st.builds(
        lambda height, width, seed, image_format: encode(
            np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8),
            image_format,
        ),
        st.integers(1, 24),
        st.integers(1, 24),
        st.integers(0, 2**16),
        st.sampled_from(["PNG", "JPEG", "GIF", "BMP"]),
    )


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(st.binary(max_size=300))
def test_random_bytes_are_an_image_or_an_input_error(data):
    assert_valid_or_refused(data)


@PROPERTY
@given(_valid_images(), st.data())
def test_truncated_images_are_an_image_or_an_input_error(data, draw):
    cut = draw.draw(st.integers(0, len(data)))
    image = assert_valid_or_refused(data[:cut])
    if cut == len(data):
        assert image is not None


@PROPERTY
@given(_valid_images(), st.data())
def test_corrupted_images_are_an_image_or_an_input_error(data, draw):
    data = bytearray(data)
    for _ in range(draw.draw(st.integers(1, 8))):
        position = draw.draw(st.integers(0, len(data) - 1))
        data[position] = draw.draw(st.integers(0, 255))
    assert_valid_or_refused(bytes(data))


@PROPERTY
@given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1))
def test_any_declared_png_size_is_checked_before_decoding(width, height):
    data = declared_png(width, height)
    image = assert_valid_or_refused(data)
    if image is not None:
        assert image.shape[:2] == (height, width)
    if 1 <= width < 2**31 and 1 <= height < 2**31:  # PNG's own range
        known, header_height, header_width = image_header_tf(tf.constant(data))
        assert bool(known) and (int(header_height), int(header_width)) == (height, width)


@PROPERTY
@given(st.integers(1, 2**16 - 1), st.integers(1, 2**16 - 1), st.sampled_from(["GIF", "BMP"]))
def test_gif_and_bmp_header_sizes_are_read_in_the_graph(width, height, image_format):
    data = bytearray(encode(np.zeros((2, 2, 3), np.uint8), image_format))
    if image_format == "GIF":
        data[6:10] = struct.pack("<HH", width, height)
    else:
        data[18:26] = struct.pack("<ii", width, -height)  # a top-down bitmap
    known, header_height, header_width = image_header_tf(tf.constant(bytes(data)))
    assert bool(known) and (int(header_height), int(header_width)) == (height, width)
    assert_valid_or_refused(bytes(data))


def test_an_animated_gif_counts_every_frame_against_the_pixel_limit_in_the_graph():
    # TensorFlow's decoder reads every frame of a GIF, even when it returns only the first.
    import tensorflow as tf
    from PIL import Image

    from keras_styletransfer.data.decoding import image_header_tf

    def gif(frames):
        images = [
            Image.fromarray(np.full((40, 50), i % 2 * 255, np.uint8), "L") for i in range(frames)
        ]
        buffer = io.BytesIO()
        images[0].save(buffer, "GIF", save_all=True, append_images=images[1:])
        return buffer.getvalue()

    for frames in (1, 7, 60):
        known, height, width = image_header_tf(tf.constant(gif(frames)))
        assert bool(known) and int(width) == 50
        assert int(height) >= 40 * frames  # at least every frame; never fewer
        assert int(height) <= 40 * (frames + 1)
