"""``python -m torch_estimator``: the ``torch-estimator`` command."""

import sys

from torch_estimator.cli import main

if __name__ == "__main__":
    sys.exit(main())
