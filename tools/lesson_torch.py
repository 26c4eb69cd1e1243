#!/usr/bin/python3
"""The PyTorch lesson pipeline that cifar-act replaces, for `make bench` to time.

    /usr/bin/python3 tools/lesson_torch.py DATA_DIR OUT_DIR [FN]

A torchvision-style dataset over the binary CIFAR-10 test set (torchvision's own CIFAR10
class reads the pickled Python version; this one reads the same records and, like it,
turns each image into a PIL image and applies ToTensor), DataLoader(batch_size=64),
nn.Sigmoid (or FN: any torch.nn class name), and save_image for input and output.
"""
import os
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Cifar10Binary(Dataset):
    def __init__(self, root, transform):
        raw = np.fromfile(os.path.join(root, "cifar-10-batches-bin", "test_batch.bin"),
                          dtype=np.uint8).reshape(-1, 3073)
        self.targets = raw[:, 0].astype(np.int64)
        self.data = raw[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # HWC
        self.transform = transform

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        img = Image.fromarray(self.data[i])  # what torchvision.datasets.CIFAR10 does
        return self.transform(img), self.targets[i]


def main():
    data, out = sys.argv[1], sys.argv[2]
    fn = sys.argv[3] if len(sys.argv) > 3 else "Sigmoid"
    os.makedirs(out, exist_ok=True)
    dataset = Cifar10Binary(data, torchvision.transforms.ToTensor())
    loader = DataLoader(dataset, batch_size=64)
    act = getattr(nn, fn)()
    with torch.no_grad():
        for step, (imgs, _) in enumerate(loader):
            output = act(imgs)
            torchvision.utils.save_image(imgs, os.path.join(out, f"input_{step:04d}.png"))
            torchvision.utils.save_image(output, os.path.join(out, f"output_{step:04d}.png"))


if __name__ == "__main__":
    main()
