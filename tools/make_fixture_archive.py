#!/usr/bin/env python3
"""Build a CIFAR-style .tar.gz around member files, laid out like the official archive.

usage: make_fixture_archive.py OUT SRC_DIR [--kind cifar10|cifar100]
                               [--format gnu|pax|ustar] [--level N] [--long-name]

Members are taken from SRC_DIR by their official names; those absent are left out.
Order follows the official archive: the directory entry, then (CIFAR-10)
batches.meta.txt, data_batch_1..5.bin, test_batch.bin, readme.html; (CIFAR-100)
coarse_label_names.txt, fine_label_names.txt, test.bin, train.bin. readme.html is
generated. --long-name adds a file with a 150-character name before the data, which
GNU format stores with an 'L' entry and pax format with an 'x' header. Output is
deterministic (fixed mtimes, owners, gzip header time). Python stdlib only.
"""
import argparse
import gzip
import io
import os
import sys
import tarfile

LAYOUT = {
    "cifar10": ("cifar-10-batches-bin",
                ["batches.meta.txt"] + ["data_batch_%d.bin" % i for i in range(1, 6)]
                + ["test_batch.bin"]),
    "cifar100": ("cifar-100-binary",
                 ["coarse_label_names.txt", "fine_label_names.txt", "test.bin", "train.bin"]),
}
FORMATS = {"gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT,
           "ustar": tarfile.USTAR_FORMAT}
MTIME = 1275000000  # fixed, so archives are byte-for-byte reproducible


def info(name, size, kind=tarfile.REGTYPE):
    ti = tarfile.TarInfo(name)
    ti.size = size
    ti.type = kind
    ti.mtime = MTIME
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    ti.uid = ti.gid = 1000
    ti.uname = ti.gname = "fixture"
    return ti


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out")
    ap.add_argument("src")
    ap.add_argument("--kind", choices=LAYOUT, default="cifar10")
    ap.add_argument("--format", choices=FORMATS, default="gnu")
    ap.add_argument("--level", type=int, default=6)
    ap.add_argument("--long-name", action="store_true")
    a = ap.parse_args()

    top, names = LAYOUT[a.kind]
    tmp = a.out + ".tmp"
    with open(tmp, "wb") as raw:
        # mtime=0 and no file name in the gzip header: reproducible output.
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=a.level,
                           mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=FORMATS[a.format]) as tar:
                tar.addfile(info(top, 0, tarfile.DIRTYPE))
                if a.long_name:
                    data = b"long name entry\n"
                    tar.addfile(info(top + "/" + "n" * 150, len(data)), io.BytesIO(data))
                for n in names:
                    path = os.path.join(a.src, n)
                    if not os.path.exists(path):
                        continue
                    with open(path, "rb") as f:
                        tar.addfile(info(top + "/" + n, os.path.getsize(path)), f)
                readme = b"<html><body>fixture archive for cifar-act tests</body></html>\n"
                tar.addfile(info(top + "/readme.html", len(readme)), io.BytesIO(readme))
    os.replace(tmp, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
