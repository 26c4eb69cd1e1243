#!/usr/bin/python3
"""Check that torchvision itself loads what tools/make_cifar_pickle.py writes.

    /usr/bin/python3 tools/check_cifar_pickle_torchvision.py ROOT BIN_DIR [--cifar100]

ROOT holds cifar-10-batches-py/ written by make_cifar_pickle.py from BIN_DIR/test_batch.bin.
torchvision's integrity check is skipped (our test_batch cannot have the published MD5:
the binary version has no file names); everything else is torchvision's own loader,
pickle.load(f, encoding="latin1") included. Compares every image (HWC, as torchvision
keeps them) and label with the binary records. Needs python3-torchvision (Debian);
not part of make test.
"""
import sys

import numpy as np
import torchvision.datasets.cifar as tvc

root, bindir = sys.argv[1], sys.argv[2]
cifar100 = "--cifar100" in sys.argv[3:]  # ROOT/cifar-100-python from make_cifar_pickle.py --cifar100
tvc.CIFAR10._check_integrity = lambda self: True
tvc.check_integrity = lambda path, md5=None: True
ds = (tvc.CIFAR100 if cifar100 else tvc.CIFAR10)(root, train=False, download=False)
raw = np.fromfile(f"{bindir}/test_batch.bin", dtype=np.uint8).reshape(-1, 3073)
want = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
assert ds.data.shape == want.shape, (ds.data.shape, want.shape)
assert np.array_equal(ds.data, want), "pixels differ"
labels = raw[:, 0].tolist()
if cifar100:  # make_cifar_pickle.py's made-up fine labels
    labels = [l * 10 + i % 10 for i, l in enumerate(labels)]
assert ds.targets == labels, "labels differ"
assert ds.classes[:3] == (["fine_00", "fine_01", "fine_02"] if cifar100 else
                          ["airplane", "automobile", "bird"]), ds.classes
img, label = ds[1234]
assert np.array_equal(np.asarray(img), want[1234]) and label == labels[1234]
print(f"torchvision {tvc.__name__}: {len(ds)} images, pixels and labels identical; classes {ds.classes}")
