#!/usr/bin/env python3
"""Write CIFAR pickles in the layout of torchvision's download (the "python version").

The official cifar-10-python.tar.gz files were written by Python 2's cPickle with
protocol 2: a dict with bytes keys, the pixels as a numpy uint8 array pickled through
numpy.core.multiarray._reconstruct / numpy.ndarray / numpy.dtype. This script writes
those opcodes by hand (Python 3 standard library only: CI has no numpy), from the
binary version's records, so the tests can compare our pickle reader with our binary
reader image by image.

    tools/make_cifar_pickle.py --bin ../shared/cifar-10-batches-bin --out DIR
        DIR/cifar-10-batches-py/{test_batch,batches.meta}
    ... --train     also data_batch_1..5, the test images split into five (2000 each)
    ... --cifar100  DIR/cifar-100-python/{test,meta} instead: the same images, with
                    made-up fine labels (label*10 + i%10) and coarse labels (fine//5)

Layout, as cPickle wrote it (pickletools.dis on a generated file shows it):
    PROTO 2, EMPTY_DICT, MARK, key/value pairs, SETITEMS, STOP; keys in the order the
    real files have them (test_batch: batch_label, labels, data, filenames; CIFAR-100:
    filenames, batch_label, fine_labels, coarse_labels, data); strings as
    SHORT_BINSTRING (< 256 bytes) or BINSTRING; ints as BININT1/BININT2/BININT; lists
    as EMPTY_LIST then MARK ... APPENDS per 1000 items (cPickle's batch size); the array
    as GLOBAL numpy.core.multiarray _reconstruct, (GLOBAL numpy ndarray, (0,), 'b')
    REDUCE, then BUILD with (1, (rows, 3072), dtype, False, raw bytes), the dtype as
    GLOBAL numpy dtype ('u1', 0, 1) REDUCE and BUILD (3, '|', None, None, None, -1, -1, 0).
    Memo: cPickle numbers from 1 and memoizes (BINPUT, LONG_BINPUT past 255) only
    objects something else also references; we memoize the dict, lists, keys and list
    strings, globals, the reduce results and the one-character strings (Python 2 caches
    those), not the temporary tuples. Readers do not depend on the memo numbering.

Not byte-identical to the originals: the binary version has no file names, so
'filenames' holds made-up names of the same shape ("cat_s_000123.png"); the MD5s that
torchvision publishes therefore do not match, and tests verify with their own digests.
"""
import argparse
import os
import struct
import sys

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer",
                 "dog", "frog", "horse", "ship", "truck"]
RECORD = 1 + 3072
BATCH = 1000  # cPickle's BATCHSIZE for APPENDS/SETITEMS


class Pickler:
    """Just enough of Python 2's cPickle, protocol 2, for these files."""

    def __init__(self, f):
        self.f = f
        self.memo = 0

    def w(self, b):
        self.f.write(b)

    def put(self):
        self.memo += 1  # cPickle: "Make sure memo keys are positive!"
        if self.memo < 256:
            self.w(b"q" + bytes([self.memo]))
        else:
            self.w(b"r" + struct.pack("<I", self.memo))

    def int(self, v):
        if 0 <= v < 256:
            self.w(b"K" + bytes([v]))
        elif 0 <= v < 65536:
            self.w(b"M" + struct.pack("<H", v))
        else:
            self.w(b"J" + struct.pack("<i", v))

    def str(self, s, memo=True):
        if isinstance(s, str):
            s = s.encode("latin-1")
        if len(s) < 256:
            self.w(b"U" + bytes([len(s)]) + s)
        else:
            self.w(b"T" + struct.pack("<i", len(s)) + s)
        if memo:
            self.put()

    def glob(self, module, name):
        self.w(b"c" + module.encode() + b"\n" + name.encode() + b"\n")
        self.put()

    def list(self, items, save):
        self.w(b"]")
        self.put()
        for i in range(0, len(items), BATCH):
            chunk = items[i:i + BATCH]
            if len(chunk) == 1:
                save(chunk[0])
                self.w(b"a")
            else:
                self.w(b"(")
                for x in chunk:
                    save(x)
                self.w(b"e")

    def array_u8(self, raw, rows, cols):
        self.glob("numpy.core.multiarray", "_reconstruct")
        self.glob("numpy", "ndarray")
        self.int(0)
        self.w(b"\x85")            # (0,)
        self.str(b"b")             # one-character string: cached by Python 2, memoized
        self.w(b"\x87R")           # TUPLE3 REDUCE
        self.put()
        self.w(b"(")
        self.int(1)
        self.int(rows)
        self.int(cols)
        self.w(b"\x86")            # shape
        self.glob("numpy", "dtype")
        self.str(b"u1", memo=False)
        self.int(0)
        self.int(1)
        self.w(b"\x87R")
        self.put()
        self.w(b"(")
        self.int(3)
        self.str(b"|")
        self.w(b"NNN")
        self.w(b"J" + struct.pack("<i", -1))
        self.w(b"J" + struct.pack("<i", -1))
        self.int(0)
        self.w(b"tb")              # dtype state, BUILD
        self.w(b"\x89")            # NEWFALSE: C order
        self.str(raw, memo=False)
        self.w(b"tb")              # array state, BUILD

    def dict(self, pairs):
        """pairs: [(key, save_value_callable)] in file order."""
        self.w(b"\x80\x02}")
        self.put()
        for i in range(0, len(pairs), BATCH):
            chunk = pairs[i:i + BATCH]
            self.w(b"(" if len(chunk) > 1 else b"")
            for k, save in chunk:
                self.str(k)
                save()
            self.w(b"u" if len(chunk) > 1 else b"s")
        self.w(b".")


def read_bin(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) % RECORD:
        sys.exit(f"{path}: not a CIFAR-10 binary file")
    n = len(blob) // RECORD
    labels = [blob[i * RECORD] for i in range(n)]
    pixels = b"".join(blob[i * RECORD + 1:(i + 1) * RECORD] for i in range(n))
    return labels, pixels


def write_batch(path, keys, batch_label, labels_by_key, pixels, names):
    rows = len(pixels) // 3072
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        p = Pickler(f)
        save = {
            "batch_label": lambda: p.str(batch_label),
            "data": lambda: p.array_u8(pixels, rows, 3072),
            "filenames": lambda: p.list(names, p.str),
        }
        for k, v in labels_by_key.items():
            save[k] = (lambda v=v: p.list(v, p.int))
        p.dict([(k, save[k]) for k in keys])
    os.replace(tmp, path)


def write_meta(path, pairs):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        p = Pickler(f)
        out = []
        for k, v in pairs:
            if isinstance(v, int):
                out.append((k, lambda v=v: p.int(v)))
            else:
                out.append((k, lambda v=v: p.list(v, p.str)))
        p.dict(out)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True, help="directory with test_batch.bin")
    ap.add_argument("--out", required=True, help="data directory to write into")
    ap.add_argument("--train", action="store_true", help="also data_batch_1..5")
    ap.add_argument("--cifar100", action="store_true", help="cifar-100-python layout")
    ap.add_argument("--count", type=int, default=0, help="use only the first N images")
    a = ap.parse_args()

    labels, pixels = read_bin(os.path.join(a.bin, "test_batch.bin"))
    if a.count:
        labels, pixels = labels[:a.count], pixels[:a.count * 3072]
    n = len(labels)
    names = [f"{CIFAR10_NAMES[l]}_s_{i:06d}.png" for i, l in enumerate(labels)]

    if a.cifar100:
        d = os.path.join(a.out, "cifar-100-python")
        os.makedirs(d, exist_ok=True)
        fine = [l * 10 + i % 10 for i, l in enumerate(labels)]
        coarse = [f // 5 for f in fine]
        write_batch(os.path.join(d, "test"),
                    ["filenames", "batch_label", "fine_labels", "coarse_labels", "data"],
                    "testing batch 1 of 1",
                    {"fine_labels": fine, "coarse_labels": coarse}, pixels, names)
        write_meta(os.path.join(d, "meta"),
                   [("fine_label_names", [f"fine_{k:02d}" for k in range(100)]),
                    ("coarse_label_names", [f"coarse_{k:02d}" for k in range(20)])])
        return

    d = os.path.join(a.out, "cifar-10-batches-py")
    os.makedirs(d, exist_ok=True)
    keys = ["batch_label", "labels", "data", "filenames"]
    write_batch(os.path.join(d, "test_batch"), keys, "testing batch 1 of 1",
                {"labels": labels}, pixels, names)
    if a.train:
        per = (n + 4) // 5
        for k in range(5):
            s = slice(k * per, min(n, (k + 1) * per))
            write_batch(os.path.join(d, f"data_batch_{k + 1}"), keys,
                        f"training batch {k + 1} of 5", {"labels": labels[s]},
                        pixels[s.start * 3072:s.stop * 3072], names[s])
    write_meta(os.path.join(d, "batches.meta"),
               [("num_cases_per_batch", 10000), ("label_names", CIFAR10_NAMES),
                ("num_vis", 3072)])


if __name__ == "__main__":
    main()
