"""One resolver for the kinds of data cnnkit's functions take, so a kind one accepts all accept.

Labelled data (training, evaluation, top losses, the learning-rate finder, :func:`show_batch`):

- ``(x, y)`` arrays -- R: ``list(x, y)``, labels a factor, logicals or 0-based numbers -- or
  ``{"x": ..., "y": ..., "class_names": ...}``;
- a ``tf.data.Dataset`` of ``(images, labels)`` batches (``image_folder()`` and ``image_table()``
  give them as ``train``, ``validation`` and ``test``);
- a ``keras.utils.PyDataset`` of ``(images, labels)`` batches (read as a dataset);
- a table of image files and labels -- a CSV file, a data frame, a dict of columns with ``file`` and
  ``label`` -- read at the model's input size as :func:`image_table` reads it.

Refused, with what to do: the dict ``image_folder()`` returns (pass one of its datasets), a Python
generator (it can be read once only: a dataset or a ``PyDataset`` can be read every epoch), and
anything else (the message lists the kinds above).
"""

from __future__ import annotations

import os
import types
from typing import Any

from ._context import called, caller
from ._lang import code

LABELLED = ("(x, y) arrays ({}), a tf.data.Dataset of (images, labels) batches (image_folder() and image_table() "
            "give them), a keras.utils.PyDataset of such batches, or a table of image files and labels (a CSV file "
            "or {} with file and label columns)")


def accepted() -> str:
    """The labelled kinds, in the caller's words."""
    return LABELLED.format(code("or a dict with x and y", "R: list(x, y), labels a factor"),
                           code("a dict of columns / pandas DataFrame", "a data frame"))


def _is_table(data: Any) -> bool:
    """A CSV file, a dict of columns with a ``file`` column, or a pandas DataFrame."""
    if isinstance(data, (str, os.PathLike)):
        return str(data).lower().endswith(".csv")
    if isinstance(data, dict):
        return "file" in data and not {"x", "train"} & set(data)
    return hasattr(data, "columns") and hasattr(data, "iloc")


def _is_py_dataset(data: Any) -> bool:
    try:
        import keras
    except ImportError:  # pragma: no cover
        return False
    return isinstance(data, keras.utils.PyDataset)


def _from_py_dataset(data: Any) -> Any:
    """A ``PyDataset`` of ``(images, labels)`` batches as a ``tf.data.Dataset`` of the same batches."""
    import numpy as np
    import tensorflow as tf

    first = data[0]
    if not isinstance(first, (tuple, list)) or len(first) < 2:
        raise ValueError("a PyDataset must yield (images, labels) batches")
    x0, y0 = np.asarray(first[0]), np.asarray(first[1])
    signature = (tf.TensorSpec((None, *x0.shape[1:]), tf.as_dtype(x0.dtype)),
                 tf.TensorSpec((None, *y0.shape[1:]), tf.as_dtype(y0.dtype)))

    def batches():
        for i in range(len(data)):
            x, y = data[i][:2]
            yield np.asarray(x), np.asarray(y)

    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    ds = ds.apply(tf.data.experimental.assert_cardinality(len(data)))  # Keras then knows the epoch's length
    if getattr(data, "class_names", None) is not None:
        ds.class_names = list(data.class_names)
    return ds


def labelled(data: Any, arg: str, model: Any = None) -> Any:
    """``data`` as one of the kinds :func:`cnnkit._data_checks.check_data` checks -- ``(x, y)``, an
    ``{"x", "y"}`` dict or a ``tf.data.Dataset`` -- or an error that says what to pass instead."""
    if isinstance(data, dict) and "train" in data and "class_names" in data:
        train, val, test = (code(f"d['{k}']", f"d${k}") for k in ("train", "validation", "test"))
        raise TypeError(f"{caller()}(): `{arg}` is what image_folder() or image_table() returns (a "
                        f"{code('dict', 'list')} of datasets); pass one of them: {train} to train, {val} or {test} "
                        "to evaluate.")
    if isinstance(data, types.GeneratorType) or (hasattr(data, "__next__") and not isinstance(data, (list, tuple))
                                                 and not hasattr(data, "element_spec")):
        raise TypeError(f"{caller()}(): `{arg}` is a generator, which can be read once only (training reads the data every "
                        "epoch). Pass a tf.data.Dataset -- tf.data.Dataset.from_generator(make_batches, "
                        "output_signature=...) -- or a keras.utils.PyDataset; cnnkit takes " + accepted() + ".")
    if _is_py_dataset(data):
        try:
            return _from_py_dataset(data)
        except (ValueError, TypeError, IndexError) as e:
            raise TypeError(f"{caller()}(): `{arg}` is a keras.utils.PyDataset that cnnkit cannot read ({e}); its items "
                            "must be (images, labels) batches of arrays.") from None
    if _is_table(data):
        if model is None:
            raise TypeError(f"{caller()}(): `{arg}` is a table of image files; read it with image_table() first.")
        from ._model_info import model_input_shape
        from .data import image_table

        shape = model_input_shape(model)
        if len(shape) != 4 or None in shape[1:3] or shape[-1] not in (1, 3):
            raise ValueError(f"{caller()}(): `{arg}` is a table of image files, which needs a model with a fixed (height, "
                             f"width, 1 or 3) input; this one takes {shape}.")
        with called("image_table"):  # its messages name its own arguments (`table`)
            d = image_table(data, image_size=shape[1:3], color_mode="grayscale" if shape[-1] == 1 else "rgb")
        return d["train"]
    return data
