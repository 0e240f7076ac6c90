#!/usr/bin/python3
"""Writes the features of `make bench-scale` (issue 18) into DIR, in chunks so that
this script never holds more than a chunk: ImageNet-size latents as a user would
save ResNet-50's penultimate features with np.save(..., x.astype(np.float16)).

  train.npy  ROWS x D float16 (default 1,281,167 x 2,048: ImageNet-1k's training set)
  val.npy    VAL x D float16 (default 50,000: its validation set)
  near.npy   OOD x D float16 (10,000 rows of 100 cluster centres not among train's)
  far.npy    OOD x D float16 (10,000 rows of broad non-negative noise)

Class structure like real latents: 1,000 Gaussian clusters, non-negative after a
ReLU, centres with per-class sparse activations. Usage:
  gen_scale.py DIR [ROWS] [D] [VAL] [OOD]"""
import sys

import numpy as np

out = sys.argv[1]
rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1281167
d = int(sys.argv[3]) if len(sys.argv) > 3 else 2048
n_val = int(sys.argv[4]) if len(sys.argv) > 4 else 50000
n_ood = int(sys.argv[5]) if len(sys.argv) > 5 else 10000
CHUNK = 20000

rng = np.random.default_rng(18)
centres = (rng.random((1000, d), dtype=np.float32) < 0.3) * rng.gamma(
    2.0, 0.5, size=(1000, d)).astype(np.float32)
novel = (rng.random((100, d), dtype=np.float32) < 0.3) * rng.gamma(
    2.0, 0.5, size=(100, d)).astype(np.float32)


def write(path, n, make):
    with open(path, "wb") as f:
        np.lib.format.write_array_header_1_0(
            f, {"descr": "<f2", "fortran_order": False, "shape": (n, d)})
        for r0 in range(0, n, CHUNK):
            m = min(CHUNK, n - r0)
            f.write(make(m).astype(np.float16).tobytes())


def clusters(c):
    def make(m):
        k = rng.integers(0, len(c), size=m)
        x = c[k] + rng.standard_normal((m, d), dtype=np.float32) * np.float32(0.35)
        return np.maximum(x, 0, out=x)
    return make


def broad(m):
    return np.abs(rng.standard_normal((m, d), dtype=np.float32)) * np.float32(0.8)


write(f"{out}/train.npy", rows, clusters(centres))
write(f"{out}/val.npy", n_val, clusters(centres))
write(f"{out}/near.npy", n_ood, clusters(novel))
write(f"{out}/far.npy", n_ood, broad)
