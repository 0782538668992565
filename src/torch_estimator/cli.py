"""The ``torch-estimator`` command."""

from __future__ import annotations

import argparse
import logging
import sys

from torch_estimator._census import run_census

__all__ = ["main"]


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port number in [0, 65535]; got {text}")
    return value


def _add_serve_parser(commands: argparse._SubParsersAction) -> None:
    """``serve``: TF Serving's model server flags, for the REST API."""
    serve = commands.add_parser(
        "serve",
        help="serve an exported model with TensorFlow Serving's REST API",
        description="Serve the newest numeric version under MODEL_BASE_PATH at /v1/models/MODEL_NAME, "
        "with TensorFlow Serving's REST API and flag names (REST only: there is no gRPC port).",
    )
    serve.add_argument(
        "export_dir", nargs="?", default=None, metavar="MODEL_BASE_PATH", help="same as --model_base_path"
    )
    serve.add_argument("--model_base_path", default=None, help="directory of version subdirectories (1/, 2/, ...)")
    serve.add_argument(
        "--model_name", default="default", help="name in the request paths (default: 'default', as TF Serving)"
    )
    serve.add_argument(
        "--port", "--rest_api_port", dest="port", type=_port, default=8501, help="REST API port (default 8501)"
    )
    serve.add_argument(
        "--host",
        default="0.0.0.0",
        help="address to listen on (default 0.0.0.0, every interface, as TF Serving; 127.0.0.1 for local only)",
    )
    serve.add_argument(
        "--file_system_poll_wait_seconds",
        type=float,
        default=1.0,
        help="seconds between polls of the base path for new versions; 0 loads once (default 1)",
    )
    serve.add_argument(
        "--enable_batching",
        action="store_true",
        help="merge concurrent requests of a signature into one model call (pays under concurrent requests)",
    )
    serve.add_argument(
        "--max_request_bytes",
        type=_positive_int,
        default=None,
        help="largest request body accepted; a larger one gets 413 (default 32 MiB; TF Serving has no limit)",
    )
    serve.add_argument(
        "--batching_parameters_file",
        default=None,
        help="TF Serving batching parameters (text proto: max_batch_size, batch_timeout_micros, num_batch_threads)",
    )
    serve.add_argument(
        "--rest_api_num_threads",
        type=_positive_int,
        default=None,
        help="requests whose model calls run at once (default: 4 per CPU)",
    )
    serve.add_argument(
        "--tensorflow_intra_op_parallelism",
        type=int,
        default=0,
        help="threads one model call may use (torch's and onnxruntime's intra-op threads); 0: torch's default, "
        "or 1 with --enable_batching",
    )
    serve.add_argument(
        "--tensorflow_inter_op_parallelism",
        type=int,
        default=0,
        help="torch.set_num_interop_threads; 0: torch's default",
    )
    serve.add_argument(
        "--loader",
        default=None,
        help="'module:function' loading a version directory (default: torch_estimator.export:load)",
    )


def _serve(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    from torch_estimator import serving  # needs the optional 'serving' extra (FastAPI, uvicorn)

    if args.export_dir and args.model_base_path and args.export_dir != args.model_base_path:
        parser.error(
            f"serve: MODEL_BASE_PATH {args.export_dir!r} and --model_base_path {args.model_base_path!r} differ; "
            "give one."
        )
    base_path = args.model_base_path or args.export_dir
    if not base_path:
        parser.error("serve: --model_base_path (or MODEL_BASE_PATH) is required.")
    if args.batching_parameters_file and not args.enable_batching:
        parser.error("serve: --batching_parameters_file needs --enable_batching.")
    parameters = (
        serving.read_batching_parameters(args.batching_parameters_file) if args.batching_parameters_file else None
    )
    serving.serve(
        base_path,
        args.model_name,
        host=args.host,
        port=args.port,
        loader=args.loader,
        file_system_poll_wait_seconds=max(args.file_system_poll_wait_seconds, 0.0),
        enable_batching=args.enable_batching,
        batching_parameters=parameters,
        rest_api_num_threads=args.rest_api_num_threads or serving.DEFAULT_NUM_THREADS,
        intra_op_parallelism=args.tensorflow_intra_op_parallelism,
        inter_op_parallelism=args.tensorflow_inter_op_parallelism,
        max_request_bytes=args.max_request_bytes or serving.DEFAULT_MAX_REQUEST_BYTES,
        log_level="warning" if args.quiet else "info",
    )


def _add_inspect_parser(commands: argparse._SubParsersAction) -> None:
    """``inspect``: TensorFlow's inspect_checkpoint, for either checkpoint format."""
    inspect = commands.add_parser(
        "inspect",
        help="list a checkpoint's variables (ours or TensorFlow's), or print one",
        description="List the variables of a checkpoint (a prefix such as model_dir/model.ckpt-100, or a model_dir: "
        "its latest) with their dtypes and shapes, in torch_estimator's format or TensorFlow's.",
    )
    inspect.add_argument("checkpoint", metavar="CKPT_OR_DIR", help="a checkpoint prefix or a model_dir")
    inspect.add_argument("--tensor", default=None, metavar="NAME", help="print this variable's value")


def _inspect(args: argparse.Namespace) -> int:
    import numpy as np

    from torch_estimator._core import checkpoint
    from torch_estimator._core.errors import OpError

    prefix = checkpoint.resolve(args.checkpoint)
    if prefix is None:
        print(f"torch-estimator inspect: no checkpoint at {args.checkpoint}", file=sys.stderr)
        return 1
    try:
        if args.tensor is not None:
            with np.printoptions(threshold=sys.maxsize):
                print(f"tensor_name: {args.tensor}\n{checkpoint.read_array(prefix, args.tensor)}")
            return 0
        kind = "TensorFlow (tensor bundle)" if checkpoint.is_tensorflow(prefix) else "torch_estimator (safetensors)"
        print(f"checkpoint: {prefix}\nformat: {kind}")
        for name, dtype, shape in checkpoint.describe(prefix):
            print(f"{name} ({dtype}) {shape}")
    except (OpError, ValueError) as e:
        print(f"torch-estimator inspect: {e}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``torch-estimator census [--model_type wide|deep|wide_deep] [--epochs N] [--batch_size N] ...``
    or ``torch-estimator serve --model_base_path DIR [--model_name NAME] [--port 8501] ...``
    or ``torch-estimator inspect CKPT_OR_DIR [--tensor NAME]``."""
    parser = argparse.ArgumentParser(prog="torch-estimator", description="The TensorFlow Estimator API on PyTorch.")
    parser.add_argument("--quiet", action="store_true", help="only warnings and results")
    commands = parser.add_subparsers(dest="command", required=True)
    census = commands.add_parser(
        "census", help="train, evaluate and report a wide & deep income classifier on the census data"
    )
    census.add_argument("--model_type", choices=["wide", "deep", "wide_deep"], default="wide_deep")
    census.add_argument("--epochs", type=_positive_int, help="default: 8")
    census.add_argument("--batch_size", type=_positive_int, help="default: 256")
    census.add_argument(
        "--dnn_learning_rate", type=float, help="Adagrad learning rate of the deep part (default: 0.05)"
    )
    census.add_argument("--linear_learning_rate", type=float, help="Ftrl learning rate of the wide part (default: 0.1)")
    census.add_argument("--seed", type=int, help="tf_random_seed (default: 0)")
    census.add_argument("--model_dir", default=None, help="default: a new temporary directory")
    _add_serve_parser(commands)
    _add_inspect_parser(commands)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr
    )
    if args.command == "census":
        options = ("epochs", "batch_size", "model_dir", "dnn_learning_rate", "linear_learning_rate", "seed")
        run_census(args.model_type, **{k: getattr(args, k) for k in options if getattr(args, k) is not None})
    elif args.command == "serve":
        _serve(args, parser)
    elif args.command == "inspect":
        return _inspect(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
