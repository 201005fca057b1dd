"""Settings the command line shows in ``--help`` without importing TensorFlow (see cli.py).

The modules that use them import them from here: ``job.DEFAULTS`` is :data:`TRAIN`, ``job.MODELS``
has the names in :data:`SMALL_MODELS`, ``distribute.STRATEGIES`` the names in :data:`STRATEGIES`
(tests/python/test_cli.py checks that they agree).
"""

# The main job (train_classifier(), `cnnkit train`). head_epochs: the frozen-backbone phase of
# transfer learning (`--model <backbone>`); its fine-tuning phase trains `epochs` epochs.
TRAIN = {"model": "fashion_cnn", "epochs": 8, "batch_size": 128, "learning_rate": 3e-3, "schedule": "cosine",
         "head_epochs": 3}
SMALL_MODELS = ("fashion_cnn", "simple_cnn", "lenet5")
STRATEGIES = ("mirrored",)
PRECISIONS = ("auto", "float32", "mixed_bfloat16")
SCHEDULES = ("cosine", "constant")
