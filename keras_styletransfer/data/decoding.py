"""The one image decoder: every entry point reads images here, by content, size-checked first.

Training folders, `stylize`, `explain` and the exported `serve_bytes` signatures all identify an
image by its first bytes (PNG, JPEG, GIF or BMP; a TIFF named `.png` is refused, a JPEG named
`.dat` is read), read its width and height from the header, refuse it when it has more than a
pixel limit, and only then decode it. Damaged files (a bad PNG checksum, truncated data) are
refused everywhere with the same message: training skips them with a counted warning, `stylize`
and `explain` skip them and say so, `serve_bytes` fails that request.

Files and bytes are decoded by Pillow (`read_image`, `inspect_image`); the tf.data pipelines and
the serving graph use `image_header_tf` / `decode_image_tf`, which convert channels the same way:
alpha is composited on white, gray is repeated to RGB, 16-bit is scaled to 8 bits.

The default limit for files is `DEFAULT_MAX_PIXELS` (64 Mpx), or the environment variable
`KERAS_STYLETRANSFER_MAX_PIXELS`; the exported signatures use the export's `max_pixels`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import struct
import warnings

import numpy as np

from keras_styletransfer.errors import InputError

DEFAULT_MAX_PIXELS = 64 * 1024 * 1024
MAX_PIXELS_VARIABLE = "KERAS_STYLETRANSFER_MAX_PIXELS"

# The formats every entry point decodes (TensorFlow's decode_image reads exactly these), by the
# bytes they start with.
MAGIC = (
    ("PNG", b"\x89PNG\r\n\x1a\n"),
    ("JPEG", b"\xff\xd8\xff"),
    ("GIF", b"GIF87a"),
    ("GIF", b"GIF89a"),
    ("BMP", b"BM"),
)
FORMAT_NAMES = "PNG, JPEG, GIF or BMP"
# Pillow's names of those formats (MPO: a multi-picture JPEG as cameras write them).
_PIL_FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "GIF": "GIF", "BMP": "BMP"}
_CHANNELS_OF_MODE = {"1": 1, "L": 1, "P": 3, "RGB": 3, "RGBA": 4, "LA": 2, "I;16": 1, "I": 1}


def max_pixels_default():
    """The pixel limit for image files: `KERAS_STYLETRANSFER_MAX_PIXELS`, else 64 Mpx."""
    text = os.environ.get(MAX_PIXELS_VARIABLE)
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise InputError(f"{MAX_PIXELS_VARIABLE} must be a positive integer; received {text!r}.")
    return value


def sniff_format(head):
    """ "PNG", "JPEG", "GIF" or "BMP" from a file's first bytes, else None."""
    head = bytes(head[:8])
    for name, magic in MAGIC:
        if head.startswith(magic):
            return name
    return None


def header_size(data, image_format):
    """(width, height) as the header of an encoded image declares it, or None where the bytes
    end first: read in Python before Pillow opens the file (its own bomb check refuses with no
    size over 178 Mpx)."""
    data = bytes(data)
    try:
        if image_format == "PNG":
            width, height = struct.unpack(">II", data[16:24])
        elif image_format == "GIF":
            width, height = struct.unpack("<HH", data[6:10])
        elif image_format == "BMP":
            if struct.unpack("<I", data[14:18])[0] == 12:  # BITMAPCOREHEADER
                width, height = struct.unpack("<HH", data[18:22])
            else:
                width, height = struct.unpack("<ii", data[18:26])
        else:
            return _jpeg_size(data)
    except struct.error:
        return None
    return abs(width), abs(height)


def _jpeg_size(data):
    """(width, height) from a JPEG's first start-of-frame marker, or None."""
    position = 2
    while position + 9 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            position += 2
            continue
        position += 2 + struct.unpack(">H", data[position + 2 : position + 4])[0]
    return None


def _describe(head):
    """A short name for content that is not one of the formats, for messages."""
    head = bytes(head[:8])
    known = {
        b"II*\x00": "TIFF",
        b"MM\x00*": "TIFF",
        b"RIFF": "RIFF/WebP",
        b"%PDF": "PDF",
        b"PK\x03\x04": "a zip archive",
    }
    for magic, name in known.items():
        if head.startswith(magic):
            return f"{name} content"
    if not head:
        return "an empty file"
    return f"content starting {head[:4]!r}"


def not_an_image_message(name, head):
    return f"{name} is not a {FORMAT_NAMES} image ({_describe(head)}); convert it to PNG or JPEG."


def too_large_message(name, width, height, max_pixels):
    return (
        f"{name} is {width}x{height} = {width * height} pixels, over the limit of {max_pixels}; "
        f"downscale it (or raise the limit: {MAX_PIXELS_VARIABLE}, or export --max-pixels)."
    )


def damaged_message(name, image_format, error):
    reason = str(error).splitlines()[0] if str(error) else type(error).__name__
    if type(error).__name__ == "UnidentifiedImageError":
        reason = "its header cannot be parsed"  # Pillow's text names a stream object
    return (
        f"{name} is a damaged {image_format} file ({type(error).__name__}: {reason}); "
        "re-save or re-export it."
    )


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What the header of one image says.

    Attributes:
        format: str. "PNG", "JPEG", "GIF" or "BMP".
        mode: str. Pillow's mode ("RGB", "L", "RGBA", "P", "I;16", ...).
        channels: int. Channels before conversion (1, 2, 3 or 4).
        width, height: int.
    """

    format: str
    mode: str
    channels: int
    width: int
    height: int


def _source(source):
    """(a name for messages, a function opening a fresh binary stream) of a path or bytes."""
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return "the image data", lambda: io.BytesIO(data)
    path = os.fspath(source)
    return repr(path), lambda: open(path, "rb")  # closed by the caller


def _opened(open_stream, name, max_pixels, load):
    """Open, check and (when `load`) fully decode an image; returns (ImageInfo, loaded image)."""
    from PIL import Image

    try:
        with open_stream() as stream:
            head = stream.read(65536)  # the header (a JPEG's frame marker may follow metadata)
    except OSError as error:
        raise InputError(f"cannot read {name} ({type(error).__name__}: {error}).") from None
    image_format = sniff_format(head)
    if image_format is None:
        raise InputError(not_an_image_message(name, head))
    declared = header_size(head, image_format)
    if declared and declared[0] * declared[1] > max_pixels:
        raise InputError(too_large_message(name, *declared, max_pixels))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(open_stream())
    except Image.DecompressionBombError:
        raise InputError(
            f"{name} has more pixels than Pillow reads ({Image.MAX_IMAGE_PIXELS * 2}), over the "
            f"limit of {max_pixels}; downscale it."
        ) from None
    except Exception as error:
        raise InputError(damaged_message(name, image_format, error)) from None
    try:
        width, height = image.size
        if _PIL_FORMATS.get(image.format) != image_format:
            raise InputError(not_an_image_message(name, head))
        if width < 1 or height < 1:
            raise InputError(f"{name} is {width}x{height} pixels; an image needs at least 1x1.")
        if width * height > max_pixels:
            raise InputError(too_large_message(name, width, height, max_pixels))
        info = ImageInfo(
            image_format, image.mode, _CHANNELS_OF_MODE.get(image.mode, 3), width, height
        )
        if not load:
            image.close()
            return info, None
        try:
            image.verify()  # every PNG chunk's checksum
            image.close()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image = Image.open(open_stream())
                image.load()  # verify() misses truncated pixel data; load() does not
        except Exception as error:
            raise InputError(damaged_message(name, image_format, error)) from None
        return info, image
    except BaseException:
        image.close()
        raise


def inspect_image(source, max_pixels=None, load=True):
    """Check one image file or bytes: its format by content, its size from the header against
    `max_pixels`, and (when `load`) that it decodes completely.

    Args:
        source: str, os.PathLike or bytes.
        max_pixels: int. Largest width * height accepted. Defaults to `max_pixels_default()`.
        load: bool. Decode it to find damaged data. Defaults to True.

    Returns:
        An `ImageInfo`.

    Raises:
        InputError: not a PNG / JPEG / GIF / BMP image, over the limit, or damaged.
    """
    name, open_stream = _source(source)
    max_pixels = max_pixels_default() if max_pixels is None else int(max_pixels)
    info, image = _opened(open_stream, name, max_pixels, load)
    if image is not None:
        image.close()
    return info


def read_image(source, max_pixels=None):
    """One image file or bytes as uint8 RGB `(H, W, 3)`, checked by `inspect_image` first.

    Palette, gray, gray + alpha and RGBA are converted (alpha composited on white), 16-bit gray
    is scaled to 8 bits; an animated GIF gives its first frame.

    Raises:
        InputError: not a PNG / JPEG / GIF / BMP image, over the pixel limit, or damaged; the
            same messages in every entry point.
    """
    from PIL import Image

    name, open_stream = _source(source)
    max_pixels = max_pixels_default() if max_pixels is None else int(max_pixels)
    _, image = _opened(open_stream, name, max_pixels, load=True)
    with image:
        try:
            if image.mode in ("I;16", "I;16B", "I;16L", "I"):
                array = np.asarray(image, dtype=np.float64)
                peak = 65535.0 if image.mode.startswith("I;16") else max(array.max(), 1.0)
                gray = np.round(np.clip(array / peak, 0, 1) * 255).astype(np.uint8)
                return np.repeat(gray[..., np.newaxis], 3, axis=-1)
            if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
                rgba = image.convert("RGBA")
                background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                return np.asarray(Image.alpha_composite(background, rgba).convert("RGB"))
            return np.asarray(image.convert("RGB"))
        except Exception as error:
            raise InputError(damaged_message(name, image.format, error)) from None


# --- in TensorFlow: the tf.data pipelines and the serving graph ---------------------------------


def _bytes_at(contents, offset, count):
    """`count` bytes of `contents` from `offset` as int64, zeros past its end."""
    import tensorflow as tf

    padded = tf.strings.join([contents, tf.constant(b"\x00" * (offset + count))])
    raw = tf.io.decode_raw(tf.strings.substr(padded, offset, count), tf.uint8)
    return tf.cast(tf.reshape(raw, [count]), tf.int64)


def _big_endian(values):
    import tensorflow as tf

    count = values.shape[0]
    return tf.reduce_sum(
        values * tf.constant([256 ** (count - 1 - i) for i in range(count)], tf.int64)
    )


def _little_endian(values):
    import tensorflow as tf

    count = values.shape[0]
    return tf.reduce_sum(values * tf.constant([256**i for i in range(count)], tf.int64))


def image_header_tf(contents):
    """`(known, height, width)` of one encoded image (a scalar string tensor), read from its
    header without decoding: PNG's IHDR, JPEG's SOF (`tf.image.extract_jpeg_shape`), GIF's
    logical screen, BMP's info header. `known` is False for other content (sizes are then 0).
    An animated GIF's height is multiplied by its number of frames, since the decoder holds
    them all: `height * width` is the pixel count decoding costs.
    """
    import tensorflow as tf

    heads = [
        tf.strings.substr(tf.strings.join([contents, "\x00" * 8]), 0, len(m)) for _, m in MAGIC
    ]
    matches = tf.stack(
        [tf.equal(head, magic) for head, (_, magic) in zip(heads, MAGIC, strict=True)]
    )
    index = tf.cast(tf.argmax(tf.cast(matches, tf.int32)), tf.int32)
    known = tf.reduce_any(matches)
    branch = tf.where(known, index, len(MAGIC))

    def png():
        return _big_endian(_bytes_at(contents, 20, 4)), _big_endian(_bytes_at(contents, 16, 4))

    def jpeg():
        shape = tf.cast(tf.image.extract_jpeg_shape(contents), tf.int64)
        return shape[0], shape[1]

    def gif():
        # TensorFlow's GIF decoder reads every frame into memory (one byte per pixel each) even
        # when it returns only the first: a 788 kB GIF of 200 frames at 2000x2000 took 761 MB.
        # So an animated GIF's height counts all its frames. Each image descriptor (0x2C) comes
        # after a block terminator (0x00); counting that pair can only overcount (the pair may
        # also occur inside compressed data), which errs on the side of refusing.
        # The search starts after the global colour table, whose bytes could hold the pair.
        packed = _little_endian(_bytes_at(contents, 10, 1))
        table = tf.where(
            packed >= 128, 3 * tf.bitwise.left_shift(tf.constant(2, tf.int64), packed % 8), 0
        )
        start = tf.minimum(tf.cast(13 + table, tf.int32), tf.strings.length(contents))
        # A first frame may follow the colour table directly: the leading 0x00 counts it.
        rest = tf.strings.join(["\x00", tf.strings.substr(contents, start, -1)])
        frames = tf.maximum(
            tf.cast(tf.size(tf.strings.split(rest, sep="\x00\x2c")), tf.int64) - 1, 1
        )
        height = _little_endian(_bytes_at(contents, 8, 2))
        return height * frames, _little_endian(_bytes_at(contents, 6, 2))

    def bmp():
        core = tf.equal(_little_endian(_bytes_at(contents, 14, 4)), 12)  # BITMAPCOREHEADER
        width = tf.where(
            core, _little_endian(_bytes_at(contents, 18, 2)), _signed32(_bytes_at(contents, 18, 4))
        )
        height = tf.where(
            core, _little_endian(_bytes_at(contents, 20, 2)), _signed32(_bytes_at(contents, 22, 4))
        )
        return tf.abs(height), tf.abs(width)  # a negative height means top-down rows

    def unknown():
        return tf.constant(0, tf.int64), tf.constant(0, tf.int64)

    height, width = tf.switch_case(branch, [png, jpeg, gif, gif, bmp, unknown])
    return known, height, width


def _signed32(values):
    import tensorflow as tf

    value = _little_endian(values)
    return tf.where(value >= 2**31, value - 2**32, value)


def decode_image_tf(contents, channels=3):
    """Encoded bytes -> uint8 `(H, W, channels)` (channels 1 or 3), converted as `read_image`
    converts: alpha composited on white, gray repeated to RGB, RGB to gray by luminance."""
    import tensorflow as tf

    image = tf.io.decode_image(contents, channels=0, expand_animations=False, dtype=tf.uint8)
    image = tf.ensure_shape(image, [None, None, None])
    count = tf.shape(image)[-1]
    values = tf.cast(image, tf.float32)
    color = tf.cond(count < 3, lambda: tf.tile(values[..., :1], [1, 1, 3]), lambda: values[..., :3])
    alpha = tf.cond(
        tf.equal(count % 2, 0),
        lambda: values[..., -1:] / 255.0,
        lambda: tf.ones_like(values[..., :1]),
    )
    rgb = color * alpha + 255.0 * (1.0 - alpha)
    if channels == 1:
        rgb = tf.image.rgb_to_grayscale(rgb)
    return tf.cast(tf.round(tf.clip_by_value(rgb, 0.0, 255.0)), tf.uint8)
