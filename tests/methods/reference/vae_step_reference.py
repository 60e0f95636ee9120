"""Writes vae_step_reference.json: one self-replay VAE step of the PRE-DFKD
release (kuluhan/PRE-DFKD distillation.py, train_memory_generator, the branch
after the first iteration) on a small configuration with fixed weights and
fixed random draws, in PyTorch 1.13 (float64, a higher-precision reference):
the gradients of the memory generator M and the encoder E after the step's
backward pass, before the optimisers step. The same step run in float32 gives
each tensor's float32 noise floor (`float32Error`): a gradient that is a sum
with heavy cancellation (M's last conv bias, before tanh and a BatchNorm)
cannot be closer than that in float32, whoever computes it.

The release zeroes M's and E's gradients first, then tunes the memory codes z
with one Adam step on 5*IE + 1*oneHot of T(M(z)) plus the latent prior terms,
with M in training mode; that backward pass also leaves the gradient of
5*IE + 1*oneHot in M's parameters, and the reconstruction + KL backward adds
to it. The fixture holds both M's full gradient (`gradsM`, the release) and
M's gradient without the latent pass (`gradsMNoLatent`), so a test can tell
the two behaviours apart.

The teacher is a small dense network (flatten -> Linear -> ReLU -> Linear) so
that its layout is the same in NCHW and NHWC with one channel; M and E are the
release's MemoryGenerator and Encoder layer for layer with small widths.

Run: /usr/bin/python3 tests/methods/reference/vae_step_reference.py, then
`npx -y deno@2.9.6 fmt tests/methods/reference/` (the fixture is kept
deno-formatted). (Debian python3-torch; not a dfkd-bench dependency.) Layouts
are PyTorch's (Linear [out, in], Conv2d [out, in, kh, kw], images NCHW).
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

LATENT, IMG, CH, CLASSES, HIDDEN = 6, 8, 1, 3, 5
C1, C2 = 8, 4      # memory generator widths (128, 64 in the release): width 1/16
E1, E2 = 4, 8      # encoder widths (64, 128 in the release): width 1/16
NOVEL, MEMORY = 8, 4
IE, OH, LR_Z = 5.0, 1.0, 0.02


class MemoryGenerator(nn.Module):
    def __init__(self):
        super().__init__()
        self.init_size = IMG // 4
        self.l1 = nn.Sequential(nn.Linear(LATENT, C1 * self.init_size ** 2))
        self.conv_blocks0 = nn.Sequential(nn.BatchNorm2d(C1))
        self.conv_blocks1 = nn.Sequential(nn.Conv2d(C1, C1, 3, 1, 1), nn.BatchNorm2d(C1, 0.8),
                                          nn.LeakyReLU(0.2, inplace=True))
        self.conv_blocks2 = nn.Sequential(nn.Conv2d(C1, C2, 3, 1, 1), nn.BatchNorm2d(C2, 0.8),
                                          nn.LeakyReLU(0.2, inplace=True))
        self.conv_blocks3 = nn.Sequential(nn.Conv2d(C2, CH, 3, 1, 1), nn.Tanh(),
                                          nn.BatchNorm2d(CH, affine=False))

    def forward(self, z):
        out = self.l1(z).view(z.shape[0], C1, self.init_size, self.init_size)
        img = nn.functional.interpolate(self.conv_blocks0(out), scale_factor=2)
        img = nn.functional.interpolate(self.conv_blocks1(img), scale_factor=2)
        return self.conv_blocks3(self.conv_blocks2(img))


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

    def forward(self, img, eps):
        img = F.normalize(img, p=2, dim=2)
        out = self.conv_blocks1(self.conv_blocks0(img))
        out = nn.functional.interpolate(out, scale_factor=0.5)
        out = nn.functional.interpolate(self.conv_blocks2(out), scale_factor=0.5)
        out = out.view(out.shape[0], -1)
        mu, log_var = self.fc_mu(out), self.fc_var(out)
        return eps * torch.exp(0.5 * log_var) + mu, mu, log_var


class Teacher(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(CH * IMG * IMG, HIDDEN)
        self.fc2 = nn.Linear(HIDDEN, CLASSES)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x.reshape(x.shape[0], -1))))


def pattern(shape, k, scale):
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(0.7 * i + 1.3 * k) for i in range(n)]).reshape(shape)


def fill(module, offset):
    """Deterministic weights: each parameter from a sine pattern."""
    with torch.no_grad():
        for k, (_, p) in enumerate(sorted(module.named_parameters())):
            p.copy_(pattern(p.shape, k + offset, 0.3 if p.dim() > 1 else 0.1))
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def entropy_and_one_hot(logits):
    pbar = F.softmax(logits, dim=1).mean(dim=0)
    ie = (pbar * torch.log10(pbar)).sum()
    oh = nn.CrossEntropyLoss()(logits, logits.data.max(1)[1])
    return ie, oh


def vae_step(m, e, teacher, novel, z0, eps, latent_pass_in_m):
    """The release's self-replay VAE step up to its backward pass; returns M's and E's grads."""
    m.train()
    e.train()
    m.zero_grad()
    e.zero_grad()
    z = z0.clone().requires_grad_(True)
    opt_z = torch.optim.Adam([z], lr=LR_Z)
    opt_z.zero_grad()
    ie, oh = entropy_and_one_hot(teacher(m(z)))
    prior = F.mse_loss(torch.var(z, dim=0), torch.ones(LATENT)) + \
        F.mse_loss(torch.mean(z, dim=0), torch.zeros(LATENT))
    (ie * IE + oh * OH + prior).backward()
    opt_z.step()
    if not latent_pass_in_m:
        m.zero_grad()
    memory = m(z).detach()
    x = torch.cat((novel, memory), dim=0)
    target = teacher(x)
    codes, mu, log_var = e(x, eps)
    rec = m(codes)
    loss = F.l1_loss(rec, x) + F.l1_loss(teacher(rec), target.detach())
    kl = 1e-5 * torch.mean(-0.5 * torch.sum(1 + log_var - mu ** 2 - log_var.exp(), dim=1), dim=0)
    (loss + kl).backward()
    return ({n: p.grad.detach().clone() for n, p in m.named_parameters()},
            {n: p.grad.detach().clone() for n, p in e.named_parameters()},
            z.detach().clone(), float(loss + kl))


def tolist(t):
    return t.detach().reshape(-1).tolist()


def run(dtype):
    """Weights, draws and the step's gradients (release and without the latent pass) in dtype."""
    torch.set_default_dtype(dtype)
    teacher = Teacher().eval()
    t_params = fill(teacher, 200)
    for p in teacher.parameters():
        p.requires_grad_(False)
    novel = pattern((NOVEL, CH, IMG, IMG), 97, 1.0).to(dtype)
    z0 = pattern((MEMORY, LATENT), 99, 1.0).to(dtype)
    eps = pattern((NOVEL + MEMORY, LATENT), 96, 1.0).to(dtype)
    out = {"teacher": t_params, "novel": novel, "z": z0, "eps": eps}
    for latent_pass_in_m in (True, False):
        m = MemoryGenerator()
        out["m"] = fill(m, 0)
        e = Encoder()
        out["e"] = fill(e, 100)
        out[latent_pass_in_m] = vae_step(m, e, teacher, novel, z0, eps, latent_pass_in_m)
    torch.set_default_dtype(torch.float64)
    return out


def norm_relative(got, want):
    """None for a gradient that is zero in exact arithmetic (a conv bias before a BatchNorm)."""
    return float((got.double() - want).norm() / want.norm()) if want.norm() > 1e-12 else None


ref = run(torch.float64)
f32 = run(torch.float32)
t_params, m_params, e_params = ref["teacher"], ref["m"], ref["e"]
novel, z0, eps = ref["novel"], ref["z"], ref["eps"]
grads_m, grads_e, z_tuned, loss = ref[True]
grads_m_off = ref[False][0]
# The release itself run in float32: how far its gradients are from float64 (the float32 noise
# floor of each tensor, ||g32 - g64|| / ||g64||).
float32_error = {"m": {k: norm_relative(v, grads_m[k]) for k, v in f32[True][0].items()},
                 "mNoLatent": {k: norm_relative(v, grads_m_off[k])
                               for k, v in f32[False][0].items()},
                 "e": {k: norm_relative(v, grads_e[k]) for k, v in f32[True][1].items()}}

fixture = {
    "source": "tests/methods/reference/vae_step_reference.py (PyTorch %s, float64)" %
    torch.__version__,
    "config": {"latent": LATENT, "img": IMG, "ch": CH, "classes": CLASSES, "hidden": HIDDEN,
               "c1": C1, "c2": C2, "e1": E1, "e2": E2, "novel": NOVEL, "memory": MEMORY},
    "teacher": {k: {"shape": list(v.shape), "data": tolist(v)} for k, v in t_params.items()},
    "decoder": {k: {"shape": list(v.shape), "data": tolist(v)} for k, v in m_params.items()},
    "encoder": {k: {"shape": list(v.shape), "data": tolist(v)} for k, v in e_params.items()},
    "novel": tolist(novel),
    "z": tolist(z0),
    "eps": tolist(eps),
    "zTuned": tolist(z_tuned),
    "loss": loss,
    "gradsM": {k: tolist(v) for k, v in grads_m.items()},
    "gradsMNoLatent": {k: tolist(v) for k, v in grads_m_off.items()},
    "gradsE": {k: tolist(v) for k, v in grads_e.items()},
    "float32Error": float32_error,
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vae_step_reference.json")
with open(path, "w") as f:
    json.dump(fixture, f)
print("wrote", path)
