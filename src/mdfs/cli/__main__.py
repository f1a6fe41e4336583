"""`python -m mdfs.cli ...`, the same as `mdfs ...`."""

import sys

from mdfs.cli.main import main

sys.exit(main())
