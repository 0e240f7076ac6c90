#!/usr/bin/env python3
"""pixels_realnvp_torch.py — the image RealNVP of `lde bench` (line realnvp-px: 8
affine couplings with checkerboard masks on 28×28×1 images, st-networks conv3×3(1→64)
→ ReLU → conv3×3(64→64) → ReLU → conv3×3(64→2), s = 2·tanh(raw/2), no squeeze,
batch 64) written in PyTorch the way a researcher would, to compare training and
evaluation throughput with lde on the same machine and threads. Not a dependency of
lde and not run by `make check`: run it with Debian's python3-torch,

    OMP_NUM_THREADS=2 /usr/bin/python3 tests/bench/pixels_realnvp_torch.py

It prints the BLAS and oneDNN PyTorch loaded and samples/s for train and eval."""
import math, os, time
import torch
import torch.nn as nn

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "2")))
torch.manual_seed(0)
H = W = 28
HID, BLOCKS, BATCH = 64, 8, 64


class Coupling(nn.Module):
    def __init__(self, parity):
        super().__init__()
        yy, xx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        self.register_buffer("m", (((yy + xx) % 2) == parity).float()[None, None])
        self.net = nn.Sequential(nn.Conv2d(1, HID, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(HID, HID, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(HID, 2, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        st = self.net(x * self.m)
        s = 2 * torch.tanh(st[:, :1] / 2) * (1 - self.m)
        t = st[:, 1:] * (1 - self.m)
        return x * torch.exp(s) + t, s.flatten(1).sum(1)


class RealNVP(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([Coupling(k % 2) for k in range(BLOCKS)])

    def log_prob(self, x):
        ld = torch.zeros(x.shape[0])
        for l in self.layers:
            x, d = l(x)
            ld = ld + d
        return -0.5 * (x ** 2).flatten(1).sum(1) - 0.5 * H * W * math.log(2 * math.pi) + ld


def rate(fn, rows, seconds=10.0):
    fn()  # warm-up
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= seconds and n >= 2:
            return n * rows / dt


flow = RealNVP()
opt = torch.optim.Adam(flow.parameters(), lr=1e-3)
x = torch.randn(BATCH, 1, H, W)
xe = torch.randn(2048, 1, H, W)


def step():
    opt.zero_grad()
    loss = -flow.log_prob(x).mean()
    loss.backward()
    opt.step()


def evaluate():
    with torch.no_grad():
        for i in range(0, xe.shape[0], 256):
            flow.log_prob(xe[i:i + 256])


cfg = torch.__config__.show()
blas = [l.strip() for l in cfg.splitlines() if "BLAS" in l or "MKLDNN" in l or "oneDNN" in l]
print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; " + "; ".join(blas))
print(f"realnvp-px torch 784 {HID} {BLOCKS} {BATCH} train {rate(step, BATCH):.1f} samples/s")
print(f"realnvp-px torch 784 {HID} {BLOCKS} {BATCH} eval  {rate(evaluate, xe.shape[0]):.1f} samples/s")
