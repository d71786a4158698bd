"""Real photos and real paintings in the CycleGAN folder layout, from a Debian package.

We know of no PyPI package that ships paintings. Debian's `gcompris-qt-data` (GCompris's
activity data, GPL-3+ with the images' own free licences) carries, inside Qt resource files,
colour photos of monuments and animals at 1024 px ("explore" activities) and Van Gogh's
paintings at ~500 px (the "details" activity). This script unpacks them into
`trainA/ trainB/ testA/ testB/`, the layout `train-style --family cut|cyclegan --data` reads:

    apt-get download gcompris-qt-data          # the .deb, about 44 MB (a registry download)
    python benchmarks/real_folders.py --deb gcompris-qt-data_*.deb --out /tmp/vangogh

Photos: every monument and animal photo (73); every 9th (from the 5th) goes to testA. Paintings:
the details activity's whole Van Gogh canvases (their `*_background` images; 8), the first by
name held out in testB. The photos' credits are in each activity's `resource/README`. Only
this script is ours; nothing it extracts is committed.
"""

from __future__ import annotations

import argparse
import io
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

from PIL import Image

RCC = "usr/share/gcompris-qt/rcc"
PHOTO_RESOURCES = ("explore_farm_animals", "explore_world_animals", "explore_monuments")
VAN_GOGH = (  # the details activity's Van Gogh canvases: <stem>_background.webp
    "Gogh4",
    "VincentVanGogh0012",
    "Van_Gogh_The_Night_Cafe",
    "PortraitOfPereTanguy",
    "VincentVanGogh0019",
    "VincentVanGogh0013",
    "Eglise_dAuvers-sur-Oise",
    "VincentVanGoghBridge",
)


def read_rcc(data):
    """{path: bytes} of every file in a Qt resource (.rcc) file, format versions 1-3."""
    magic, version, tree, payload, names = struct.unpack(">4sIIII", data[:20])
    if magic != b"qres" or version not in (1, 2, 3):
        raise ValueError(f"not a Qt resource file (magic {magic!r}, version {version})")
    entry_size = 14 if version == 1 else 22

    def name_at(offset):
        (length,) = struct.unpack(">H", data[names + offset : names + offset + 2])
        start = names + offset + 6  # length, then a 4-byte hash, then UTF-16BE
        return data[start : start + 2 * length].decode("utf-16-be")

    files = {}

    def walk(index, prefix):
        base = tree + index * entry_size
        name_offset, flags = struct.unpack(">IH", data[base : base + 6])
        name = name_at(name_offset) if index else ""
        path = f"{prefix}/{name}" if name else prefix
        if flags & 2:  # a directory: its children are consecutive entries
            count, first = struct.unpack(">II", data[base + 6 : base + 14])
            for child in range(first, first + count):
                walk(child, path)
            return
        (offset,) = struct.unpack(">I", data[base + 10 : base + 14])
        (length,) = struct.unpack(">I", data[payload + offset : payload + offset + 4])
        blob = data[payload + offset + 4 : payload + offset + 4 + length]
        if flags & 1:  # zlib, after a 4-byte uncompressed size
            blob = zlib.decompress(blob[4:])
        elif flags & 4:
            raise ValueError(f"{path}: zstd-compressed resources are not supported")
        files[path] = blob

    walk(0, "")
    return files


def unpack_deb(deb, folder):
    """Unpacks the .deb into `folder`; its resource folder, or an error saying what to do."""
    done = subprocess.run(["dpkg-deb", "-x", str(deb), str(folder)], capture_output=True, text=True)
    rcc = Path(folder) / RCC
    if done.returncode != 0 or not rcc.is_dir():
        reason = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "no rcc folder"
        raise SystemExit(
            f"{deb} is not a readable gcompris-qt-data package ({reason}); download it with "
            "`apt-get download gcompris-qt-data` and pass that file to --deb."
        )
    return rcc


def images(rcc_folder, resource):
    files = read_rcc((rcc_folder / f"{resource}.rcc").read_bytes())
    return {p: b for p, b in sorted(files.items()) if p.endswith((".webp", ".jpg", ".png"))}


def save(blob, path):
    Image.open(io.BytesIO(blob)).convert("RGB").save(path, quality=95)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deb", required=True, help="gcompris-qt-data_*.deb")
    parser.add_argument("--out", required=True, help="a new folder for trainA/ trainB/ ...")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        parser.error(f"{out} is not empty; choose a new --out")
    with tempfile.TemporaryDirectory() as scratch:
        rcc_folder = unpack_deb(args.deb, scratch)
        for side in ("trainA", "trainB", "testA", "testB"):
            (out / side).mkdir(parents=True, exist_ok=True)
        photos = []
        for resource in PHOTO_RESOURCES:
            photos += [(resource, p, b) for p, b in images(rcc_folder, resource).items()]
        for index, (resource, path, blob) in enumerate(photos):
            side = "testA" if index % 9 == 4 else "trainA"
            save(blob, out / side / f"{resource.removeprefix('explore_')}_{Path(path).stem}.jpg")
        details = images(rcc_folder, "details")
        chosen = [
            (stem, blob)
            for path, blob in details.items()
            for stem in VAN_GOGH
            if Path(path).stem == f"{stem}_background"
        ]
        if len(chosen) != len(VAN_GOGH):
            found = sorted(stem for stem, _ in chosen)
            sys.exit(
                f"found {len(chosen)} of {len(VAN_GOGH)} Van Gogh canvases ({found}); "
                "is this gcompris-qt-data 3.x?"
            )
        for index, (stem, blob) in enumerate(sorted(chosen)):
            side = "testB" if index == 0 else "trainB"
            save(blob, out / side / f"vangogh_{stem}.jpg")
    sides = ("trainA", "trainB", "testA", "testB")
    counts = {side: len(list((out / side).iterdir())) for side in sides}
    print(f"wrote {out}: {counts}")


if __name__ == "__main__":
    main()
