"""Settings the command line shows in ``--help`` without importing TensorFlow (see cli.py).

The modules that use them import them from here: ``job.DEFAULTS`` is :data:`TRAIN`, ``job.MODELS``
is built from :data:`MODELS` (the names in :data:`SMALL_MODELS`), ``cnnkit summary`` shows
:data:`SLIDES_MODELS`, ``distribute.STRATEGIES`` the names in :data:`STRATEGIES`
(tests/python/test_cli.py checks that they agree).
"""

from typing import Any

# The main job (train_classifier(), `cnnkit train`). head_epochs: the frozen-backbone phase of
# transfer learning (`--model <backbone>`); its fine-tuning phase trains `epochs` epochs.
# The recipe (issue 31, chosen on a validation split: bench/results/main_job_recipe.md): 4 epochs with
# label smoothing 0.1 and a weight average (EMA: "auto", momentum 0.99 over the main job's 1,876 steps,
# less or none for short runs such as a small photo folder's) reach the 8 epochs of before.
TRAIN: dict[str, Any] = {"model": "fashion_cnn", "epochs": 4, "batch_size": 128, "learning_rate": 3e-3, "schedule": "cosine",
         "head_epochs": 3, "label_smoothing": 0.1, "ema": "auto", "tta": False}
# Every model cnnkit builds by name, besides the pretrained backbones (backbones.REGISTRY): its module,
# whether the main job trains it from scratch (with the Fashion-MNIST options it needs: lenet5 takes
# 32x32 images), and whether `cnnkit summary` shows it (the slides' models).
MODELS: dict[str, dict[str, Any]] = {
    "mlp_classifier": {"module": "mlp", "job": False, "fashion_mnist": {}, "slides": True},
    "fashion_cnn": {"module": "cnn", "job": True, "fashion_mnist": {}, "slides": False},
    "simple_cnn": {"module": "cnn", "job": True, "fashion_mnist": {}, "slides": True},
    "lenet5": {"module": "lenet", "job": True, "fashion_mnist": {"pad": True}, "slides": True},
}
SMALL_MODELS = tuple(name for name, m in MODELS.items() if m["job"])  # `cnnkit train --model`
SLIDES_MODELS = tuple(name for name, m in MODELS.items() if m["slides"])  # `cnnkit summary`
STRATEGIES = ("mirrored",)
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
SCHEDULES = ("cosine", "constant")
