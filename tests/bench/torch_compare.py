#!/usr/bin/env python3
"""torch_compare.py — the models of `lde bench` written in PyTorch the way a
researcher would write them, timed on the same machine and threads, and printed
beside lde's figures with the ratio lde / PyTorch. `make bench-compare` runs
`lde bench --json` and then this script; it is not a dependency of lde and not run
by `make check`. Use Debian's python3-torch:

    OMP_NUM_THREADS=2 /usr/bin/python3 tests/bench/torch_compare.py LDE_BENCH.jsonl

The models (same shapes as lde's, lde's README and flows/*.h describe them):
  glow     d 512, 10 blocks of ActNorm -> invertible linear in LU form (W = P·L·U
           formed each pass, as Glow's code and nflows' LULinear do) -> affine coupling
  realnvp  d 512, 10 affine couplings alternating halves
           coupling: Linear(d/2 -> 2048) -> ReLU -> Linear(2048 -> d), s = 2·tanh(raw/2)
  realnvp-px  8 checkerboard couplings on 28×28×1 images, conv3×3 1->64->64->2
  backbone cnn: 4 stages conv3×3 (no bias) -> BatchNorm -> ReLU, widths
           32/64/128/256, strides 1/2/1/2, global average pool, Linear -> 10
Training = forward, backward and an Adam step on batches of `batch` rows;
evaluation = log p of a 2,048-row set in chunks of max(batch, 512) rows, as lde
scores; backbone extraction = the pooled features of 2,048 images in eval mode.
Each rate is measured over at least `SECONDS` after one warm-up call."""
import ctypes
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SECONDS = float(os.environ.get("BENCH_SECONDS", "6"))
THREADS = int(os.environ.get("OMP_NUM_THREADS", "2"))
torch.set_num_threads(THREADS)
torch.manual_seed(0)
LOG2PI = math.log(2 * math.pi)


def rate(fn, rows):
    fn()  # warm-up: allocations, oneDNN primitive creation
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        dt = time.perf_counter() - t0
        if dt >= SECONDS and n >= 2:
            return n * rows / dt


class ActNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.logs = nn.Parameter(torch.zeros(d))
        self.b = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        return (x + self.b) * torch.exp(self.logs), self.logs.sum().expand(x.shape[0])


class LULinear(nn.Module):
    """Glow §3.2: W = P·L·(U + diag(sign·exp(logs))), log|det| = Σ logs."""

    def __init__(self, d):
        super().__init__()
        q, _ = torch.linalg.qr(torch.randn(d, d))
        p, l, u = torch.linalg.lu(q)
        s = torch.diagonal(u)
        self.register_buffer("p", p)
        self.register_buffer("sign", torch.sign(s))
        self.register_buffer("lmask", torch.tril(torch.ones(d, d), -1))
        self.l = nn.Parameter(l)
        self.u = nn.Parameter(torch.triu(u, 1))
        self.logs = nn.Parameter(torch.log(torch.abs(s)))

    def forward(self, x):
        eye = torch.eye(self.l.shape[0])
        w = self.p @ (self.l * self.lmask + eye) @ (self.u * self.lmask.T + torch.diag(self.sign * torch.exp(self.logs)))
        return x @ w.T, self.logs.sum().expand(x.shape[0])


class Coupling(nn.Module):
    def __init__(self, d, hidden, parity):
        super().__init__()
        self.nc = d // 2 if parity == 0 else d - d // 2
        self.parity = parity
        nt = d - self.nc
        self.net = nn.Sequential(nn.Linear(self.nc, hidden), nn.ReLU(), nn.Linear(hidden, 2 * nt))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        if self.parity == 0:
            xc, xt = x[:, : self.nc], x[:, self.nc:]
        else:
            xt, xc = x[:, : x.shape[1] - self.nc], x[:, x.shape[1] - self.nc:]
        raw, t = self.net(xc).chunk(2, dim=1)
        s = 2 * torch.tanh(raw / 2)
        yt = xt * torch.exp(s) + t
        y = torch.cat([xc, yt], 1) if self.parity == 0 else torch.cat([yt, xc], 1)
        return y, s.sum(1)


class VectorFlow(nn.Module):
    def __init__(self, arch, d, hidden, blocks):
        super().__init__()
        layers = []
        for k in range(blocks):
            if arch == "glow":
                layers += [ActNorm(d), LULinear(d)]
            layers.append(Coupling(d, hidden, k % 2))
        self.layers = nn.ModuleList(layers)

    def log_prob(self, x):
        ld = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, d = layer(x)
            ld = ld + d
        return -0.5 * (x ** 2).sum(1) - 0.5 * x.shape[1] * LOG2PI + ld


class ConvCoupling(nn.Module):
    def __init__(self, side, hidden, parity):
        super().__init__()
        yy, xx = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
        self.register_buffer("m", (((yy + xx) % 2) == parity).float()[None, None])
        self.net = nn.Sequential(nn.Conv2d(1, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
                                 nn.Conv2d(hidden, 2, 3, padding=1))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x):
        st = self.net(x * self.m)
        s = 2 * torch.tanh(st[:, :1] / 2) * (1 - self.m)
        t = st[:, 1:] * (1 - self.m)
        return x * torch.exp(s) + t, s.flatten(1).sum(1)


class ImageFlow(nn.Module):
    def __init__(self, side, hidden, blocks):
        super().__init__()
        self.side = side
        self.layers = nn.ModuleList([ConvCoupling(side, hidden, k % 2) for k in range(blocks)])

    def log_prob(self, x):
        x = x.view(-1, 1, self.side, self.side)
        ld = torch.zeros(x.shape[0])
        for layer in self.layers:
            x, d = layer(x)
            ld = ld + d
        return -0.5 * (x ** 2).flatten(1).sum(1) - 0.5 * x[0].numel() * LOG2PI + ld


def flow_rates(arch, d, hidden, blocks, batch):
    if arch == "realnvp-px":
        flow = ImageFlow(int(round(math.sqrt(d))), hidden, blocks)
    else:
        flow = VectorFlow(arch, d, hidden, blocks)
    opt = torch.optim.Adam(flow.parameters(), lr=1e-4)
    x = torch.randn(batch, d)
    xe = torch.randn(2048, d)
    chunk = max(batch, 512)

    def step():
        opt.zero_grad()
        loss = -flow.log_prob(x).mean()
        loss.backward()
        opt.step()

    def evaluate():
        with torch.no_grad():
            for i in range(0, xe.shape[0], chunk):
                flow.log_prob(xe[i:i + chunk])

    return {"train": rate(step, batch), "eval": rate(evaluate, xe.shape[0])}


class Backbone(nn.Module):
    def __init__(self, widths=(32, 64, 128, 256), strides=(1, 2, 1, 2)):
        super().__init__()
        layers, cin = [], 1
        for w, s in zip(widths, strides):
            layers += [nn.Conv2d(cin, w, 3, stride=s, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU()]
            cin = w
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 10)

    def features(self, x):
        return self.body(x).mean((2, 3))

    def forward(self, x):
        return self.head(self.features(x))


def backbone_rates(batch=128):
    net = Backbone()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.arange(batch) % 10
    xe = torch.rand(2048, 1, 28, 28)

    def step():
        net.train()
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    def extract():
        net.eval()
        with torch.no_grad():
            for i in range(0, xe.shape[0], 512):
                net.features(xe[i:i + 512])

    return {"train": rate(step, batch), "extract": rate(extract, xe.shape[0])}


def loaded_libraries():
    """The BLAS PyTorch's matrix products went to (the libblas.so.3 alternative) with
    the OpenBLAS kernel family it picked, and the oneDNN its convolutions use."""
    torch.randn(64, 64) @ torch.randn(64, 64)
    blas = sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.split()[-1]})
    core = ""
    for path in blas:
        try:
            f = ctypes.CDLL(path).openblas_get_corename
            f.restype = ctypes.c_char_p
            core = f" ({f().decode()} kernels)"
        except (OSError, AttributeError):
            pass
    dnn = [l.strip(" -") for l in torch.__config__.show().splitlines() if "MKL-DNN" in l or "oneDNN" in l]
    return f"BLAS {', '.join(os.path.basename(b) for b in blas) or 'none loaded'}{core}; " + "; ".join(dnn)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: torch_compare.py LDE_BENCH.jsonl (the output of lde bench --json)")
    lde = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads; {loaded_libraries()}")
    peak = lde[0]["peak_gflops"] if lde else float("nan")
    print(f"lde: SGEMM peak {peak:.1f} GFLOP/s (lde --version names the kernels)\n")
    print(f"{'model':<40} {'mode':<8} {'PyTorch':>10} {'lde':>10} {'of peak':>8} {'lde/PyTorch':>12}")
    done = {}
    for row in lde:
        if row.get("model") == "backbone":
            key = ("backbone",)
            if key not in done:
                done[key] = backbone_rates(row["batch"])
            name = f"backbone cnn {row.get('conv', 'im2col')} batch {row['batch']}"
            ours = row["images_per_s"]
        else:
            if row["arch"] == "resflow":
                continue  # no PyTorch Residual Flow here: its exact log-det has no torch twin
            # realnvp-px-onednn is lde's image RealNVP with oneDNN convs: the same PyTorch model
            key = (row["arch"].removesuffix("-onednn"), row["d"], row["hidden"], row["blocks"], row["batch"])
            if key not in done:
                done[key] = flow_rates(*key)
            name = f"{row['arch']} d {row['d']} h {row['hidden']} blocks {row['blocks']} batch {row['batch']}"
            ours = row["samples_per_s"]
        theirs = done[key].get(row["mode"])
        if theirs is None:
            continue
        share = 100.0 * row["gflops"] / row["peak_gflops"]
        print(f"{name:<40} {row['mode']:<8} {theirs:>10.1f} {ours:>10.1f} {share:>7.0f}% {ours / theirs:>11.2f}x",
              flush=True)


if __name__ == "__main__":
    main()
