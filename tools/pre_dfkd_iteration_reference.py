"""PyTorch reference timing for `deno task iteration`: one PRE-DFKD iteration
(1 generator step, 10 student steps with memory-sample inference, 4 VAE steps
with self-replay) of the MNIST configuration (LeNet-5 -> LeNet-5-half, batch
64, latent 1000), on the CPU with one thread.

The networks and steps follow the authors' release (kuluhan/PRE-DFKD:
networks/generator.py, networks/lenet.py, distillation.py, main.py), written
out here for the CPU; by default the student loss is back-propagated into the
novel generator as the release does (`--no-waste` skips that, the same work
dfkd-bench does).

Run (Debian's python3-torch; not a dfkd-bench dependency):
  /usr/bin/python3 tools/pre_dfkd_iteration_reference.py [--repeats 3] [--no-waste]
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--batch", type=int, default=64)
parser.add_argument("--threads", type=int, default=1)
parser.add_argument("--no-waste", action="store_true",
                    help="do not back-propagate the student loss into the generator")
args = parser.parse_args()
torch.set_num_threads(args.threads)
torch.manual_seed(1)

LATENT, IMG, CH, B = 1000, 32, 1, args.batch
OH, IE, A, LR_G, LR_S = 1.0, 5.0, 0.1, 0.02, 0.1


def init_uniform(module):
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.uniform_(m.weight, a=-0.08, b=0.08)
            nn.init.zeros_(m.bias)


class Gen(nn.Module):
    def __init__(self, sn):
        super().__init__()
        wrap = nn.utils.spectral_norm if sn else (lambda m: m)
        self.init_size = IMG // 4
        self.l1 = nn.Linear(LATENT, 128 * self.init_size ** 2)
        self.bn0 = nn.BatchNorm2d(128)
        self.b1 = nn.Sequential(wrap(nn.Conv2d(128, 128, 3, 1, 1)), nn.BatchNorm2d(128, 0.8),
                                nn.LeakyReLU(0.2, inplace=True))
        self.b2 = nn.Sequential(wrap(nn.Conv2d(128, 64, 3, 1, 1)), nn.BatchNorm2d(64, 0.8),
                                nn.LeakyReLU(0.2, inplace=True))
        self.b3 = nn.Sequential(wrap(nn.Conv2d(64, CH, 3, 1, 1)), nn.Tanh(),
                                nn.BatchNorm2d(CH, affine=False))
        init_uniform(self)

    def forward(self, z):
        x = self.l1(z).view(z.shape[0], 128, self.init_size, self.init_size)
        x = F.interpolate(self.bn0(x), scale_factor=2)
        x = F.interpolate(self.b1(x), scale_factor=2)
        return self.b3(self.b2(x))


class Enc(nn.Module):
    def __init__(self):
        super().__init__()
        s = IMG // 4
        self.b0 = nn.Sequential(nn.Conv2d(CH, 64, 3, 1, 1), nn.BatchNorm2d(64, 0.8),
                                nn.LeakyReLU(0.2, inplace=True))
        self.b1 = nn.Sequential(nn.Conv2d(64, 128, 3, 1, 1), nn.BatchNorm2d(128, 0.8),
                                nn.LeakyReLU(0.2, inplace=True))
        self.b2 = nn.Sequential(nn.Conv2d(128, 128, 3, 2, 1), nn.BatchNorm2d(128))
        self.fc_mu = nn.Linear(32 * s * s, LATENT)
        self.fc_var = nn.Linear(32 * s * s, LATENT)
        init_uniform(self)

    def forward(self, x):
        x = F.normalize(x, p=2, dim=2)
        x = F.interpolate(self.b1(self.b0(x)), scale_factor=0.5)
        x = F.interpolate(self.b2(x), scale_factor=0.5).flatten(1)
        mu, log_var = self.fc_mu(x), self.fc_var(x)
        return torch.randn_like(mu) * torch.exp(0.5 * log_var) + mu, mu, log_var


class LeNet(nn.Module):
    def __init__(self, c1, c2, c3, hidden):
        super().__init__()
        self.c1, self.c2, self.c3 = nn.Conv2d(1, c1, 5), nn.Conv2d(c1, c2, 5), nn.Conv2d(c2, c3, 5)
        self.fc1, self.fc2 = nn.Linear(c3, hidden), nn.Linear(hidden, 10)
        self.c3_size = c3

    def forward(self, x, out_feature=False):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        f = F.relu(self.c3(x)).view(-1, self.c3_size)
        out = self.fc2(F.relu(self.fc1(f)))
        return (out, [f]) if out_feature else out


def js(student_out, teacher_out):
    p = torch.clamp(F.softmax(teacher_out / 3.0, dim=1), 0.01, 0.99)
    q = torch.clamp(F.softmax(student_out / 3.0, dim=1), 0.01, 0.99)
    m = torch.clamp(0.5 * (F.softmax(teacher_out / 3.0, dim=1) + F.softmax(student_out / 3.0, dim=1)),
                    0.01, 0.99)
    v = 0.5 * nn.KLDivLoss()(torch.log(p), m) + 0.5 * nn.KLDivLoss()(torch.log(q), m)
    return 1.0 - torch.clamp(v, 0.0, 1.0)


def match_losses(out_t):
    sm = F.softmax(out_t, dim=1).mean(dim=0)
    return nn.CrossEntropyLoss()(out_t, out_t.data.max(1)[1]), (sm * torch.log10(sm)).sum()


G, M, E = Gen(True), Gen(False), Enc()
teacher, student = LeNet(6, 16, 120, 84).eval(), LeNet(3, 8, 60, 42).train()
opt_g = torch.optim.Adam(G.parameters(), lr=LR_G)
opt_m = torch.optim.Adam(M.parameters(), lr=LR_G / 40)
opt_e = torch.optim.Adam(E.parameters(), lr=LR_G / 40)
opt_s = torch.optim.Adam(student.parameters(), lr=LR_S)  # the release's MNIST choice


def tuned_codes():
    z = torch.randn((B // 8, LATENT), requires_grad=True)
    opt_z = torch.optim.Adam([z], lr=LR_G)
    opt_z.zero_grad()
    oh, ie = match_losses(teacher(M(z)))
    prior = F.mse_loss(torch.var(z, dim=0), torch.ones(LATENT)) + \
        F.mse_loss(torch.mean(z, dim=0), torch.zeros(LATENT))
    (ie * IE + oh * OH + prior).backward()
    opt_z.step()
    return z


def iteration(first):
    # Generator step.
    opt_g.zero_grad()
    x = G(torch.randn(B, LATENT))
    out_t, feats = teacher(x, out_feature=True)
    oh, ie = match_losses(out_t)
    loss = oh * OH + ie * IE - feats[-1].abs().mean() * A + js(student(x), out_t.detach())
    loss.backward()
    opt_g.step()
    for step in range(10):
        z = torch.randn(B, LATENT)
        if args.no_waste:
            with torch.no_grad():
                novel = G(z)
        else:
            novel = G(z)
        # Student step with memory samples (M in eval mode).
        opt_s.zero_grad()
        M.eval()
        mem = M(tuned_codes()).detach()
        xs = torch.cat((novel, mem), dim=0)
        loss_s = F.l1_loss(student(xs), teacher(xs).detach())
        loss_s.backward()
        opt_s.step()
        # VAE step with self-replay.
        if step < 4:
            M.train()
            E.train()
            opt_m.zero_grad()
            opt_e.zero_grad()
            half = novel[:B // 2].detach()
            if first:
                xv = half
            else:
                xv = torch.cat((half, M(tuned_codes()).detach()), dim=0)
            target = teacher(xv)
            z_enc, mu, log_var = E(xv)
            rec = M(z_enc)
            loss_v = F.l1_loss(rec, xv) + F.l1_loss(teacher(rec), target.detach())
            loss_v = loss_v + 1e-5 * torch.mean(
                -0.5 * torch.sum(1 + log_var - mu ** 2 - log_var.exp(), dim=1), dim=0)
            loss_v.backward()
            opt_m.step()
            opt_e.step()


print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {B}, "
      f"{'no backprop into G on student steps' if args.no_waste else 'as the release'}")
t0 = time.perf_counter()
iteration(first=True)
print(f"warm-up iteration (VAE on novel samples only): {time.perf_counter() - t0:.2f} s")
times = []
for r in range(args.repeats):
    t0 = time.perf_counter()
    iteration(first=False)
    times.append(time.perf_counter() - t0)
    print(f"iteration {r + 1}: {times[-1]:.2f} s")
times.sort()
print(f"min {times[0]:.2f} s, median {times[len(times) // 2]:.2f} s")
