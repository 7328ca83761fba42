"""`python -m reconciler.cli ...` runs the `reconciler` command."""

import sys

from reconciler.cli.main import main

sys.exit(main())
