"""``python -m headpose.cli``: the ``headpose`` command."""

import sys

from headpose.cli import main

sys.exit(main())
