"""What an input_fn returns: an iterable of batches, made afresh by every iteration."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Batches"]


class Batches:
    """The batches of one input_fn call: each iteration starts ``make()`` afresh.

    ``length`` is the number of batches when it is known up front (a finite in-memory input), so
    that progress can be shown; None when the input repeats forever or streams from files.
    ``background_safe``: iterating draws on no global state (random generators) that the model
    uses, so the Estimator may iterate it in a background thread.
    """

    background_safe = True

    def __init__(self, make: Callable[[], Iterator[Any]], length: int | None = None) -> None:
        self._make = make
        self._length = length

    def __iter__(self) -> Iterator[Any]:
        return self._make()

    def __len__(self) -> int:
        if self._length is None:
            raise TypeError(
                "the number of batches of this input is not known up front (it repeats forever, num_epochs=None, "
                "or streams from files)"
            )
        return self._length

    @property
    def known_length(self) -> int | None:
        """The number of batches, or None when it is not known up front."""
        return self._length
