"""``python -m kzoo.cli``: the same as the ``kzoo`` command."""

import sys

from kzoo.cli import main

sys.exit(main())
