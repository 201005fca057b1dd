"""BatchNormalization on TensorFlow's fused kernel against Keras 3's own: the evidence behind
``cnnkit._execution.fused_batchnorm`` (used by fit_classifier() and the predictor).

    bash bench/run.sh defaults/batchnorm_fused.py [--rounds 3] [--out -]

Keras 3 computes a BatchNormalization layer as moments + normalisation in float32 (with casts around
them in mixed precision); TensorFlow has one fused op for it (FusedBatchNormV3) and one for its
gradient. For each model, the same weights train with `fit_classifier()` (its defaults: precision
"auto", steps per execution "auto") once with Keras' layer and once with the fused kernel, alternating
inside each round; images/s of the best round, training (the second epoch of each fit_classifier() call: tracing left
out) and predict (cnnkit's predictor). Agreement:
one epoch from the same weights and seed, then the largest difference in the BatchNormalization
layers' moving variances (relative to the layer's mean variance) and the two final training losses.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench/: common.py

from common import RESULTS, command_line, epoch_timer, provenance, run_and_publish

# label, backbone (None: cnnkit.fashion_cnn), input size, channels, images
CASES = [("fashion_cnn (the main job's)", None, 28, 1, 12_800), ("resnet50, fine-tuning", "resnet50", 64, 3, 512),
         ("mobilenet_v2, fine-tuning", "mobilenet_v2", 96, 3, 512),
         ("efficientnet_lite0, fine-tuning", "efficientnet_lite0", 96, 3, 256)]


def build(backbone: str | None, size: int, channels: int):
    import cnnkit

    if backbone is None:
        return cnnkit.fashion_cnn((size, size, channels))
    m = cnnkit.transfer_model(backbone, (size, size, channels), num_classes=10, weights=None)
    cnnkit.unfreeze(m, recompile=False)
    return m


@contextlib.contextmanager
def keras_batchnorm(model, inference=True):
    """What fit_classifier() did before: Keras' own BatchNormalization code."""
    yield 0


def run(args) -> list[dict]:
    import keras
    import numpy as np

    import cnnkit
    from cnnkit import _execution
    from cnnkit.precision import resolve_precision

    kinds = {"keras": keras_batchnorm, "fused": _execution.fused_batchnorm}
    _ = cnnkit.fit_classifier  # loads the training loop's modules first: use() patches the loaded ones

    def use(kind: str) -> None:
        """BatchNormalization ``kind`` for the training loop and the predictor: every cnnkit module that
        imported ``fused_batchnorm`` gets it (the training loop's module has moved before)."""
        for name, module in list(sys.modules.items()):
            if name.startswith("cnnkit.") and callable(getattr(module, "fused_batchnorm", None)):
                module.fused_batchnorm = kinds[kind]

    rows = []
    rng = np.random.default_rng(0)
    for label, backbone, size, channels, n in CASES[: args.cases]:
        x = rng.random((n, size, size, channels), dtype=np.float32)
        y = rng.integers(0, 10, n)
        keras.utils.set_random_seed(0)
        first = build(backbone, size, channels)
        weights = first.get_weights()
        models = {"keras": first, "fused": build(backbone, size, channels)}
        models["fused"].set_weights(weights)
        row = {"label": label, "input": f"{size}x{size}x{channels}", "images": n,
               "precision": resolve_precision(first), "bn_layers": sum(
                   isinstance(layer, keras.layers.BatchNormalization) for layer in first._flatten_layers())}
        losses, variances = {}, {}
        for kind, model in models.items():  # agreement: one epoch from the same weights and seed
            use(kind)
            cnnkit.compile_classifier(model, learning_rate=1e-3)
            keras.utils.set_random_seed(1)
            h = cnnkit.fit_classifier(model, (x, y), epochs=1, batch_size=128, verbose=0, cache_features=False)
            losses[kind] = h["loss"][-1]
            variances[kind] = [layer.moving_variance.numpy() for layer in model._flatten_layers()
                               if isinstance(layer, keras.layers.BatchNormalization)]
        row["loss_keras"], row["loss_fused"] = losses["keras"], losses["fused"]
        row["var_rel_diff"] = max((float(np.max(np.abs(a - b)) / max(float(np.mean(np.abs(a))), 1e-12))
                                   for a, b in zip(variances["keras"], variances["fused"])), default=0.0)
        best = {}
        for _ in range(args.rounds):
            for kind, model in models.items():
                use(kind)  # the predictor is traced (and cached) per model
                timer = epoch_timer()  # the second epoch: tracing left out
                cnnkit.fit_classifier(model, (x, y), epochs=2, batch_size=128, verbose=0, cache_features=False,
                                      callbacks=[timer])
                best[kind] = max(best.get(kind, 0.0), n / timer.seconds)
                f = _execution.predictor(model)
                f(x[:128])
                t = time.perf_counter()
                for i in range(0, n, 256):
                    f(x[i:i + 256])
                best[kind + "_predict"] = max(best.get(kind + "_predict", 0.0), n / (time.perf_counter() - t))
        use("fused")
        row.update(best)
        rows.append(row)
        print(row, flush=True)
    return rows


def report(rows, args, load, total) -> str:
    lines = ["# BatchNormalization: TensorFlow's fused kernel against Keras 3's own code", "",
             *provenance(*load), command_line(total),
             f"fit_classifier() defaults (precision \"auto\"), batch 128, random data; images/s of the best of "
             f"{args.rounds} alternating rounds (the second of two epochs per call); predict: cnnkit's predictor, "
             "batches of 256. "
             "Agreement: one epoch from the same weights and seed.", "",
             "| model | input | images | precision | BN layers | train img/s Keras BN | fused | speed-up "
             "| predict img/s Keras BN | fused | speed-up | loss Keras BN / fused | moving variance diff / mean |",
             "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['input']} | {r['images']:,} | {r['precision']} | {r['bn_layers']} "
            f"| {r['keras']:,.0f} | {r['fused']:,.0f} | {r['fused'] / r['keras']:.2f}x "
            f"| {r['keras_predict']:,.0f} | {r['fused_predict']:,.0f} | {r['fused_predict'] / r['keras_predict']:.2f}x "
            f"| {r['loss_keras']:.4f} / {r['loss_fused']:.4f} | {r['var_rel_diff']:.1e} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cases", type=int, default=len(CASES), help="only the first N models")
    p.add_argument("--out", default=str(RESULTS / "batchnorm_fused.md"))
    args = p.parse_args()
    run_and_publish(run, report, args)


if __name__ == "__main__":
    main()
