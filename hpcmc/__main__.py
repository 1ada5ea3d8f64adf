"""``python -m hpcmc`` is the ``hpcmc`` command."""
import sys

from hpcmc.cli import main

sys.exit(main())
