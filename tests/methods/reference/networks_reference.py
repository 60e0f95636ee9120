"""Writes networks_reference.json: the release's generator (with spectral norm)
and encoder (kuluhan/PRE-DFKD networks/generator.py, layer for layer, with the
channel widths as parameters) on a small configuration with fixed weights,
inputs and spectral-norm vectors, evaluated in PyTorch 1.13 (float32):
outputs in training mode, the updated spectral-norm vectors and BatchNorm
running statistics, the output in eval mode afterwards, and gradients.

Also DFAD's GeneratorA (VainF/Data-Free-Adversarial-Distillation
network/gan.py: the same layout without spectral norm, BatchNorm eps 1e-5 in
the conv blocks, its module names), written from the release.

Run: /usr/bin/python3 tests/methods/reference/networks_reference.py, then
`npx -y deno@2.9.6 fmt tests/methods/reference/` (the fixture is kept deno-formatted).
(Debian python3-torch; not a dfkd-bench dependency.) Layouts are PyTorch's
(Linear [out, in], Conv2d [out, in, kh, kw], images NCHW).
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT, IMG, CH = 6, 8, 1
C1, C2 = 8, 4      # generator widths (128, 64 in the release)
E1, E2 = 4, 8      # encoder widths (64, 128 in the release)
N = 4
torch.set_default_dtype(torch.float64)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.init_size = IMG // 4
        self.l1 = nn.Sequential(nn.Linear(LATENT, C1 * self.init_size ** 2))
        self.conv_blocks0 = nn.Sequential(nn.BatchNorm2d(C1))
        self.conv_blocks1 = nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(C1, C1, 3, 1, 1)),
                                          nn.BatchNorm2d(C1, 0.8), nn.LeakyReLU(0.2, inplace=True))
        self.conv_blocks2 = nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(C1, C2, 3, 1, 1)),
                                          nn.BatchNorm2d(C2, 0.8), nn.LeakyReLU(0.2, inplace=True))
        self.conv_blocks3 = nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(C2, CH, 3, 1, 1)),
                                          nn.Tanh(), nn.BatchNorm2d(CH, affine=False))

    def forward(self, z):
        out = self.l1(z).view(z.shape[0], C1, self.init_size, self.init_size)
        img = nn.functional.interpolate(self.conv_blocks0(out), scale_factor=2)
        img = nn.functional.interpolate(self.conv_blocks1(img), scale_factor=2)
        return self.conv_blocks3(self.conv_blocks2(img))


class GeneratorA(nn.Module):
    def __init__(self):
        super().__init__()
        self.init_size = IMG // 4
        self.l1 = nn.Sequential(nn.Linear(LATENT, C1 * self.init_size ** 2))
        self.conv_blocks0 = nn.Sequential(nn.BatchNorm2d(C1))
        self.conv_blocks1 = nn.Sequential(nn.Conv2d(C1, C1, 3, 1, 1), nn.BatchNorm2d(C1),
                                          nn.LeakyReLU(0.2, inplace=True))
        self.conv_blocks2 = nn.Sequential(nn.Conv2d(C1, C2, 3, 1, 1), nn.BatchNorm2d(C2),
                                          nn.LeakyReLU(0.2, inplace=True),
                                          nn.Conv2d(C2, CH, 3, 1, 1), nn.Tanh(),
                                          nn.BatchNorm2d(CH, affine=False))

    def forward(self, z):
        out = self.l1(z.view(z.shape[0], -1)).view(z.shape[0], -1, self.init_size, self.init_size)
        img = nn.functional.interpolate(self.conv_blocks0(out), scale_factor=2)
        img = nn.functional.interpolate(self.conv_blocks1(img), scale_factor=2)
        return self.conv_blocks2(img)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        s = IMG // 4
        self.conv_blocks0 = nn.Sequential(nn.Conv2d(CH, E1, 3, 1, 1), nn.BatchNorm2d(E1, 0.8),
                                          nn.LeakyReLU(0.2, inplace=True))
        self.conv_blocks1 = nn.Sequential(nn.Conv2d(E1, E2, 3, 1, 1), nn.BatchNorm2d(E2, 0.8),
                                          nn.LeakyReLU(0.2, inplace=True))
        self.conv_blocks2 = nn.Sequential(nn.Conv2d(E2, E2, 3, 2, 1), nn.BatchNorm2d(E2))
        self.fc_mu = nn.Linear(E2 * (s // 2) ** 2, LATENT)
        self.fc_var = nn.Linear(E2 * (s // 2) ** 2, LATENT)

    def forward(self, img):
        img = F.normalize(img, p=2, dim=2)
        out = self.conv_blocks1(self.conv_blocks0(img))
        out = nn.functional.interpolate(out, scale_factor=0.5)
        out = nn.functional.interpolate(self.conv_blocks2(out), scale_factor=0.5)
        out = out.view(out.shape[0], -1)
        return self.fc_mu(out), self.fc_var(out)


def pattern(shape, k, scale):
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(0.7 * i + 1.3 * k) for i in range(n)],
                        dtype=torch.float64).reshape(shape)


def fill(module):
    """Deterministic weights: each parameter (and sn vector) from a sine pattern."""
    names = {}
    with torch.no_grad():
        for k, (name, p) in enumerate(sorted(module.named_parameters())):
            p.copy_(pattern(p.shape, k, 0.3 if p.dim() > 1 else 0.1))
            names[name] = p.detach().clone()
        for k, (name, b) in enumerate(sorted(module.named_buffers())):
            if name.endswith("_u") or name.endswith("_v"):
                b.copy_(F.normalize(pattern(b.shape, k + 50, 1.0), dim=0))
                names[name] = b.detach().clone()
    return names


def tolist(t):
    return t.detach().reshape(-1).tolist()


torch.manual_seed(0)
g = Generator().train()
g_params = fill(g)
z = pattern((N, LATENT), 99, 1.0)
r = pattern((N, CH, IMG, IMG), 98, 1.0)
out = g(z)
loss = (out * r).sum()
loss.backward()
g_after = {name: tolist(b) for name, b in g.named_buffers()}
g.eval()
with torch.no_grad():
    out_eval = g(z)

e = Encoder().train()
e_params = fill(e)
x = pattern((N, CH, IMG, IMG), 97, 1.0)
mu, log_var = e(x)
(mu.sum() + (log_var * log_var).sum()).backward()

ga = GeneratorA().train()
ga_params = fill(ga)
ga_out = ga(z)
(ga_out * r).sum().backward()
ga.eval()
with torch.no_grad():
    ga_out_eval = ga(z)

fixture = {
    "source": "tests/methods/reference/networks_reference.py (PyTorch %s, float64)" % torch.__version__,
    "config": {"latent": LATENT, "img": IMG, "ch": CH, "c1": C1, "c2": C2, "e1": E1, "e2": E2,
               "n": N},
    "generator": {
        "params": {k: {"shape": list(v.shape), "data": tolist(v)} for k, v in g_params.items()},
        "z": tolist(z), "r": tolist(r),
        "outTrain": tolist(out), "outEval": tolist(out_eval),
        "buffersAfter": g_after,
        "grads": {name: tolist(p.grad) for name, p in g.named_parameters()},
    },
    "generatorA": {
        "params": {k: {"shape": list(v.shape), "data": tolist(v)} for k, v in ga_params.items()},
        "outTrain": tolist(ga_out), "outEval": tolist(ga_out_eval),
        "grads": {name: tolist(p.grad) for name, p in ga.named_parameters()},
    },
    "encoder": {
        "params": {k: {"shape": list(v.shape), "data": tolist(v)} for k, v in e_params.items()},
        "x": tolist(x), "mu": tolist(mu), "logVar": tolist(log_var),
        "grads": {name: tolist(p.grad) for name, p in e.named_parameters()},
    },
}
path = os.path.join(os.path.dirname(__file__), "networks_reference.json")
with open(path, "w") as f:
    json.dump(fixture, f)
print("wrote", path)
