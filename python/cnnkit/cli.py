"""The ``cnnkit`` command line (also ``python -m cnnkit``).

``cnnkit summary [MODEL ...]`` builds the slides' models and prints their Keras summaries.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable, Sequence



def _models() -> dict[str, Callable[[], object]]:
    import cnnkit

    return {
        "mlp_classifier": cnnkit.mlp_classifier,
        "simple_cnn": cnnkit.simple_cnn,
        "lenet5": cnnkit.lenet5,
    }


def cmd_summary(args: argparse.Namespace) -> int:
    """Print the Keras summary of each named model (default: all of the slides' models)."""
    import cnnkit

    factories = _models()
    names = args.models or list(factories)
    unknown = [n for n in names if n not in factories]
    if unknown:
        print(f"cnnkit summary: unknown model(s) {', '.join(unknown)}; choose from {', '.join(factories)}.",
              file=sys.stderr)
        return 2
    for name in names:
        model = factories[name]()
        print(cnnkit.summary_text(model, show_trainable=args.show_trainable))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one sub-command per task."""
    parser = argparse.ArgumentParser(prog="cnnkit", description="Image classification with CNNs in Keras 3.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("summary", help="build the slides' models and print their summaries",
                       description="Build the slides' models and print their Keras summaries.")
    p.add_argument("models", nargs="*", help="mlp_classifier, simple_cnn, lenet5 (default: all)")
    p.add_argument("--show-trainable", action="store_true", help="add the Trainable column")
    p.set_defaults(func=cmd_summary)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
