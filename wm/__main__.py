"""``python -m wm``: the same as the ``wm`` command."""

import sys

from wm.entry import main

sys.exit(main())
