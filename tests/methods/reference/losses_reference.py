"""Reference values for tests/methods/losses_test.ts, computed with the
PRE-DFKD release's loss code (kuluhan/PRE-DFKD: distillation.py, utils/aux.py)
written out with PyTorch 1.13 (Debian python3-torch), float32.

Run: /usr/bin/python3 tests/methods/reference/losses_reference.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_printoptions(precision=9)

T = torch.tensor([[2.0, -1.0, 0.5, 3.0, 0.0],
                  [0.1, 0.2, -0.3, 0.4, 1.5],
                  [-2.0, 4.0, 1.0, 0.0, -1.0]], requires_grad=True)
S = torch.tensor([[1.0, 0.0, -0.5, 2.0, 0.3],
                  [0.0, 1.0, 0.5, -1.0, 2.0],
                  [3.0, -1.0, 0.0, 1.0, 0.5]], requires_grad=True)
feat = torch.tensor([[0.5, -1.5, 2.0, 0.0], [1.0, 1.0, -0.25, 3.0], [0.0, -2.0, 0.5, 0.75]])
mu = torch.tensor([[0.5, -1.0, 0.2], [0.0, 0.3, -0.7]])
log_var = torch.tensor([[0.1, -0.5, 0.0], [0.4, -0.2, 0.3]])


def js_divergence(outputs, outputs_student):  # the release's JS_divergence(student, teacher)
    t = 3.0
    p = F.softmax(outputs_student / t, dim=1)
    q = F.softmax(outputs / t, dim=1)
    m = 0.5 * (p + q)
    p = torch.clamp(p, 0.01, 0.99)
    q = torch.clamp(q, 0.01, 0.99)
    m = torch.clamp(m, 0.01, 0.99)
    loss = 0.5 * nn.KLDivLoss()(torch.log(p), m) + 0.5 * nn.KLDivLoss()(torch.log(q), m)
    return 1.0 - torch.clamp(loss, 0.0, 1.0)


one_hot = nn.CrossEntropyLoss()(T, T.data.max(1)[1])
sm = F.softmax(T, dim=1).mean(dim=0)
ie = (sm * torch.log10(sm)).sum()
act = -feat.abs().mean()
adv = js_divergence(S, T.detach())
adv.backward()
l1 = F.l1_loss(S, T.detach())
kld = 1e-5 * torch.mean(-0.5 * torch.sum(1 + log_var - mu ** 2 - log_var.exp(), dim=1), dim=0)
worked = js_divergence(torch.tensor([[1.0, 2, 3, -1], [0.5, 0, -0.5, 2]]),
                       torch.tensor([[3.0, 2, 1, 0], [0, 0, 0, 4]]))

print("oneHot", one_hot.item())
print("informationEntropy", ie.item())
print("activation", act.item())
print("adversarialJs", adv.item())
print("adversarialJs grad wrt S", S.grad.flatten().tolist())
print("l1", l1.item())
print("vaeKl", kld.item())
print("worked example", worked.item())
