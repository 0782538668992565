"""``python -m torch_estimator``: the ``torch-estimator`` command."""

import sys

from .cli import main

sys.exit(main())
