"""``python -m bayescale``: the command line."""

import sys

from bayescale.cli import main

sys.exit(main())
