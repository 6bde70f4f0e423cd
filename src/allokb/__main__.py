"""`python -m allokb`: the same command line as `allokb`."""

import sys

from allokb.cli import main

sys.exit(main())
