"""The ``torch-estimator`` command."""

from __future__ import annotations

import argparse
import logging
import sys

__all__ = ["main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``torch-estimator census [--model_type wide|deep|wide_deep] [--epochs N] [--batch_size N] ...``."""
    parser = argparse.ArgumentParser(prog="torch-estimator", description="The TensorFlow Estimator API on PyTorch.")
    parser.add_argument("--quiet", action="store_true", help="only warnings and results")
    commands = parser.add_subparsers(dest="command", required=True)
    census = commands.add_parser("census", help="train, evaluate and report a wide & deep income classifier on the census data")
    census.add_argument("--model_type", choices=["wide", "deep", "wide_deep"], default="wide_deep")
    census.add_argument("--epochs", type=_positive_int, default=6)
    census.add_argument("--batch_size", type=_positive_int, default=256)
    census.add_argument("--dnn_learning_rate", type=float, default=0.1, help="Adagrad learning rate of the deep part")
    census.add_argument("--linear_learning_rate", type=float, default=0.1, help="Ftrl learning rate of the wide part")
    census.add_argument("--model_dir", default=None, help="default: a new temporary directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    if args.command == "census":
        from ._census import run_census

        run_census(args.model_type, args.epochs, args.batch_size, args.model_dir, args.dnn_learning_rate, args.linear_learning_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
