"""``python -m compat_metrics COMMAND``: see :mod:`compat_metrics.cli`."""

import sys

from .cli import main

sys.exit(main())
