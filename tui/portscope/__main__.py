"""`python -m portscope` runs the same entry point as the `portscope` script."""

import sys

from portscope.cli import main

sys.exit(main())
