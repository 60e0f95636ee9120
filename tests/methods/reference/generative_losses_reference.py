"""Writes generative_losses_reference.json: the DAFL and DFAD losses as their
releases compute them, evaluated in PyTorch 1.13 (Debian python3-torch,
float32) on fixed inputs, with gradients, plus the learning rates DFAD's
scheduler gives per epoch.

- DAFL (huawei-noah/Efficient-Computing, Data-Efficient-Model-Compression/DAFL/
  DAFL-train.py): the generator loss oh * CE(T, argmax T) + ie * sum(pbar *
  log10 pbar) + a * (-mean |f|), and the student's `kdloss` (KL(softmax T ||
  softmax S) summed, divided by the batch); zju-vipa/CMI's KLDiv at
  temperature 20 (datafree/criterions.py: batchmean KL of the tempered
  softmaxes times T^2) for the re-run's setting.
- DFAD (VainF/Data-Free-Adversarial-Distillation, DFAD_cifar.py): the
  student's F.l1_loss(S, T) and the generator's -F.l1_loss(S, T).
- DFAD_cifar.py's --scheduler: MultiStepLR([100, 200], 0.1) stepped at the
  start of every epoch (epochs counted from 1), so the rate each 0-based epoch
  trains with.

Run: /usr/bin/python3 tests/methods/reference/generative_losses_reference.py,
then `npx -y deno@2.9.6 fmt tests/methods/reference/` (the fixture is kept
deno-formatted). Written from the releases' code, not copied from it.
"""
import json
import math
import os
import warnings

import torch
import torch.nn.functional as F

torch.manual_seed(0)
N, K, D = 6, 5, 7


def pattern(shape, k, scale):
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(0.9 * i + 1.7 * k) + 0.1 * math.cos(0.3 * i * k)
                         for i in range(n)], dtype=torch.float32).reshape(shape)


teacher0 = pattern((N, K), 1, 3.0)
student0 = pattern((N, K), 2, 2.5)
features0 = pattern((N, D), 3, 1.5)


def leaf(t):
    return t.clone().requires_grad_(True)


def dafl_generator(t_logits, features, oh, ie, a):
    pred = t_logits.data.max(1)[1]
    loss_one_hot = torch.nn.CrossEntropyLoss()(t_logits, pred)
    mean_softmax = F.softmax(t_logits, dim=1).mean(dim=0)
    loss_ie = (mean_softmax * torch.log10(mean_softmax)).sum()
    loss_act = -features.abs().mean()
    return loss_one_hot * oh + loss_ie * ie + loss_act * a, (loss_one_hot, loss_ie, loss_act)


def dafl_kd(s_logits, t_logits):  # DAFL-train.py's kdloss
    p = F.log_softmax(s_logits, dim=1)
    q = F.softmax(t_logits, dim=1)
    return F.kl_div(p, q, reduction="sum") / s_logits.shape[0]


def cmi_kldiv(s_logits, t_logits, T):  # zju-vipa/CMI datafree/criterions.py kldiv
    q = F.log_softmax(s_logits / T, dim=1)
    p = F.softmax(t_logits / T, dim=1)
    return F.kl_div(q, p, reduction="batchmean") * (T * T)


def flat(t):
    return [float(v) for v in t.detach().flatten().tolist()]


out = {"inputs": {"teacher": teacher0.tolist(), "student": student0.tolist(),
                  "features": features0.tolist()}}

# DAFL generator loss, release weights for CIFAR-10 (0.05, 5, 0.01) and the argparse defaults (1, 5, 0.1).
for name, (oh, ie, a) in {"cifar10": (0.05, 5.0, 0.01), "defaults": (1.0, 5.0, 0.1)}.items():
    t, f = leaf(teacher0), leaf(features0)
    total, (l_oh, l_ie, l_act) = dafl_generator(t, f, oh, ie, a)
    total.backward()
    out[f"daflGenerator_{name}"] = {
        "weights": [oh, ie, a], "total": total.item(), "oneHot": l_oh.item(),
        "entropy": l_ie.item(), "activation": l_act.item(),
        "gradTeacher": flat(t.grad), "gradFeatures": flat(f.grad)}

for name, fn in {"daflKd": lambda s, t: dafl_kd(s, t),
                 "cmiKl20": lambda s, t: cmi_kldiv(s, t, 20.0),
                 "dfadStudent": lambda s, t: F.l1_loss(s, t.detach()),
                 "dfadGenerator": lambda s, t: -F.l1_loss(s, t)}.items():
    s, t = leaf(student0), leaf(teacher0)
    value = fn(s, t)
    value.backward()
    out[name] = {"value": value.item(), "gradStudent": flat(s.grad),
                 "gradTeacher": flat(t.grad) if t.grad is not None else None}

# DFAD_cifar.py --scheduler: scheduler.step() first thing in each epoch (1-based).
w = torch.nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([w], lr=0.1)
sched = torch.optim.lr_scheduler.MultiStepLR(opt, [100, 200], 0.1)
rates = []
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    for epoch in range(1, 221):
        sched.step()
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
out["dfadSchedule"] = {"baseLr": 0.1, "ratesByEpoch": rates,
                       "firstDecayedEpoch0": rates.index(next(r for r in rates if r < 0.1 * 0.99)),
                       "secondDecayedEpoch0": rates.index(next(r for r in rates if r < 0.01 * 0.99))}

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "generative_losses_reference.json")
with open(path, "w") as fh:
    json.dump(out, fh, indent=2)
print("wrote", path, "first decays at 0-based epochs",
      out["dfadSchedule"]["firstDecayedEpoch0"], out["dfadSchedule"]["secondDecayedEpoch0"])
