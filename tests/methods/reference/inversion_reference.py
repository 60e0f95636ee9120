"""Reference values for tests/methods/inversion_losses_test.ts: the losses of
DeepInversion/ADI and CMI written out from their releases' code
(NVlabs/DeepInversion cifar10/deepinversion_cifar10.py; zju-vipa/CMI
datafree/hooks.py, datafree/criterions.py, datafree/synthesis/deepinversion.py,
datafree/synthesis/contrastive.py) and run with PyTorch 1.13 (Debian
python3-torch), float32, on a tiny seeded teacher with BatchNorm, a tiny
student and fixed inputs. Tensors are exported NHWC (TensorFlow.js layout),
conv kernels HWIO, linear weights [in, out].

Regenerate (writes tests/methods/reference/inversion_reference.json):
  /usr/bin/python3 tests/methods/reference/inversion_reference.py
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
N, C, H, W, K = 4, 2, 6, 6, 3


class Teacher(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, 4, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(5)
        self.fc = nn.Linear(5, K)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        f = x.mean([2, 3])
        return self.fc(f)


class Student(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, 3, 3, padding=1)
        self.fc = nn.Linear(3, K)

    def forward(self, x):
        return self.fc(F.relu(self.conv1(x)).mean([2, 3]))


teacher, student = Teacher().eval(), Student().eval()
with torch.no_grad():
    for bn in (teacher.bn1, teacher.bn2):
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_(0, 0.2)
        bn.running_mean.normal_(0, 0.3)
        bn.running_var.uniform_(0.5, 1.5)


class DeepInversionHook:  # datafree/hooks.py (same as NVlabs DeepInversionFeatureHook)
    def __init__(self, module):
        self.hook = module.register_forward_hook(self.hook_fn)

    def hook_fn(self, module, input, output):
        nch = input[0].shape[1]
        mean = input[0].mean([0, 2, 3])
        var = input[0].permute(1, 0, 2, 3).contiguous().view([nch, -1]).var(1, unbiased=False)
        self.r_feature = torch.norm(module.running_var.data - var, 2) + torch.norm(
            module.running_mean.data - mean, 2)


class InstanceMeanHook:
    def __init__(self, module):
        self.hook = module.register_forward_hook(self.hook_fn)

    def hook_fn(self, module, input, output):
        self.instance_mean = torch.mean(input[0], dim=[2, 3])


bn_hooks = [DeepInversionHook(m) for m in (teacher.bn1, teacher.bn2)]
mean_hooks = [InstanceMeanHook(m) for m in (teacher.bn1, teacher.bn2)]


def kldiv(logits, targets, T=1.0, reduction='batchmean'):
    q = F.log_softmax(logits / T, dim=1)
    p = F.softmax(targets / T, dim=1)
    return F.kl_div(q, p, reduction=reduction) * (T * T)


def jsdiv(logits, targets, T=1.0, reduction='batchmean'):
    P = F.softmax(logits / T, dim=1)
    Q = F.softmax(targets / T, dim=1)
    M = 0.5 * (P + Q)
    P = torch.clamp(P, 0.01, 0.99)
    Q = torch.clamp(Q, 0.01, 0.99)
    M = torch.clamp(M, 0.01, 0.99)
    return 0.5 * F.kl_div(torch.log(P), M, reduction=reduction) + 0.5 * F.kl_div(
        torch.log(Q), M, reduction=reduction)


def nvlabs_competition(outputs_student, outputs):  # get_images, competitive term
    kl_loss = nn.KLDivLoss(reduction='batchmean')
    T = 3.0
    P = F.softmax(outputs_student / T, dim=1)
    Q = F.softmax(outputs / T, dim=1)
    M = 0.5 * (P + Q)
    P = torch.clamp(P, 0.01, 0.99)
    Q = torch.clamp(Q, 0.01, 0.99)
    M = torch.clamp(M, 0.01, 0.99)
    js = 0.5 * kl_loss(torch.log(P), M) + 0.5 * kl_loss(torch.log(Q), M)
    return 1.0 - torch.clamp(js, 0.0, 1.0)


def tv_l1(x):  # get_image_prior_losses
    d1 = x[:, :, :, :-1] - x[:, :, :, 1:]
    d2 = x[:, :, :-1, :] - x[:, :, 1:, :]
    d3 = x[:, :, 1:, :-1] - x[:, :, :-1, 1:]
    d4 = x[:, :, :-1, :-1] - x[:, :, 1:, 1:]
    v = (d1.abs() / 255.0).mean() + (d2.abs() / 255.0).mean() + (d3.abs() / 255.0).mean() + (
        d4.abs() / 255.0).mean()
    return v * 255.0


def tv_l2(x):  # NVlabs get_images
    d1 = x[:, :, :, :-1] - x[:, :, :, 1:]
    d2 = x[:, :, :-1, :] - x[:, :, 1:, :]
    d3 = x[:, :, 1:, :-1] - x[:, :, :-1, 1:]
    d4 = x[:, :, :-1, :-1] - x[:, :, 1:, 1:]
    return torch.norm(d1) + torch.norm(d2) + torch.norm(d3) + torch.norm(d4)


class MLPHead(nn.Module):
    def __init__(self, dim_in, dim_feat):
        super().__init__()
        self.head = nn.Sequential(nn.Linear(dim_in, dim_in), nn.ReLU(inplace=True),
                                  nn.Linear(dim_in, dim_feat))

    def forward(self, x):
        return F.normalize(self.head(x), dim=1, p=2)


def cmi_contrastive(head, local_f, global_f, cached, n, cr_T, has_updates):
    cl, cg = torch.chunk(cached, chunks=2, dim=1)
    proj = head(torch.cat([local_f, cl, global_f, cg], dim=0))
    pl, pg = torch.chunk(proj, chunks=2, dim=0)
    logits = torch.mm(pl, pg.detach().T) / cr_T
    labels = torch.arange(start=0, end=len(logits))
    loss = F.cross_entropy(logits, labels, reduction='none')
    if has_updates:
        return loss[:n].mean() + loss[n:].mean()
    return loss.mean()


def nhwc(t):
    return t.detach().permute(0, 2, 3, 1).contiguous().flatten().tolist()


def conv(m):
    return {"kernel": m.weight.detach().permute(2, 3, 1, 0).contiguous().flatten().tolist(),
            "bias": m.bias.detach().tolist()}


def lin(m):
    return {"kernel": m.weight.detach().T.contiguous().flatten().tolist(),
            "bias": m.bias.detach().tolist()}


x = torch.randn(N, C, H, W)
targets = torch.tensor([0, 1, 1, 2])
s_logits = torch.tensor([[1.0, 0.0, -0.5], [0.0, 1.0, 0.5], [3.0, -1.0, 0.0], [0.2, 0.1, 2.0]])
t_logits = torch.tensor([[2.0, -1.0, 0.5], [0.1, 0.2, -0.3], [-2.0, 4.0, 1.0], [0.0, 0.3, 1.5]])

out = {"shape": [N, H, W, C], "x": nhwc(x), "targets": targets.tolist(),
       "studentLogits": s_logits.flatten().tolist(), "teacherLogits": t_logits.flatten().tolist()}
out["teacher"] = {"conv1": conv(teacher.conv1), "conv2": conv(teacher.conv2),
                  "fc": lin(teacher.fc)}
for name, bn in (("bn1", teacher.bn1), ("bn2", teacher.bn2)):
    out["teacher"][name] = {"gamma": bn.weight.detach().tolist(), "beta": bn.bias.detach().tolist(),
                            "mean": bn.running_mean.tolist(), "var": bn.running_var.tolist()}
out["student"] = {"conv1": conv(student.conv1), "fc": lin(student.fc)}

with torch.no_grad():
    logits = teacher(x)
out["probeLogits"] = logits.flatten().tolist()
out["bnLoss"] = sum(h.r_feature for h in bn_hooks).item()
out["instanceMeans"] = torch.cat([h.instance_mean for h in mean_hooks], dim=1).flatten().tolist()
out["tvL1"] = tv_l1(x).item()
out["tvL2"] = tv_l2(x).item()
out["l2"] = torch.norm(x, 2).item()
out["crossEntropy"] = F.cross_entropy(t_logits, targets).item()
out["jsDivergence"] = jsdiv(s_logits, t_logits, T=3).item()
out["negJs"] = (-jsdiv(s_logits, t_logits, T=3)).item()
out["oneMinusJs"] = nvlabs_competition(s_logits, t_logits).item()
out["kdKl"] = kldiv(s_logits, t_logits, T=20).item()
mask = (s_logits.max(1)[1] == t_logits.max(1)[1]).float()
out["decisionAdversarial"] = (-(kldiv(s_logits, t_logits, reduction='none').sum(1) * mask).mean()).item()

# DeepInversion (CMI DeepInvSyntheiszer) total loss on a rolled and flipped batch, and its
# gradient with respect to the images (bn 10, oh 1, adv 1, tv 0.001, l2 0.5).
xv = x.clone().requires_grad_()
aug = torch.flip(torch.roll(xv, shifts=(1, -2), dims=(2, 3)), dims=(3,))
t_out = teacher(aug)
loss_bn = sum(h.r_feature for h in bn_hooks)
loss_oh = F.cross_entropy(t_out, targets)
loss_adv = -jsdiv(student(aug), t_out, T=3)
loss = 10 * loss_bn + 1 * loss_oh + 1 * loss_adv + 0.001 * tv_l1(xv) + 0.5 * torch.norm(xv, 2)
loss.backward()
out["deepInversion"] = {"roll": [1, -2], "flip": True, "bn": 10, "oh": 1, "adv": 1, "tv": 0.001,
                        "l2": 0.5, "loss": loss.item(), "grad": nhwc(xv.grad)}

# CMI contrastive loss with a fixed head: D = 9 (4 + 5 instance means), head_dim 4.
torch.manual_seed(1)
D = 9
head = MLPHead(D, 4)
local_f = torch.randn(N, D)
global_f = torch.randn(N, D)
cached = torch.randn(3, 2 * D)
out["contrast"] = {
    "head": {"l1": lin(head.head[0]), "l2": lin(head.head[2])},
    "local": local_f.flatten().tolist(), "global": global_f.flatten().tolist(),
    "cached": cached.flatten().tolist(), "temperature": 0.2,
    "withCache": cmi_contrastive(head, local_f, global_f, cached, N, 0.2, True).item(),
    "noCache": cmi_contrastive(head, local_f, global_f, cached[:0], N, 0.2, False).item(),
}
lf = local_f.clone().requires_grad_()
cmi_contrastive(head, lf, global_f, cached, N, 0.2, True).backward()
out["contrast"]["gradLocal"] = lf.grad.flatten().tolist()

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "inversion_reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=1)
print("wrote", path)
