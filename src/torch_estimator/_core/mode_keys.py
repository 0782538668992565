"""The three modes a model_fn is called in."""

from __future__ import annotations

__all__ = ["ModeKeys"]


class ModeKeys:
    """Standard names for model modes, with TensorFlow's values.

    * ``TRAIN``: training / fitting mode.
    * ``EVAL``: evaluation mode.
    * ``PREDICT``: inference mode (the value is ``'infer'``, as in TensorFlow).
    """

    TRAIN = "train"
    EVAL = "eval"
    PREDICT = "infer"

    @classmethod
    def all(cls) -> tuple[str, str, str]:
        """The three mode values."""
        return (cls.TRAIN, cls.EVAL, cls.PREDICT)
