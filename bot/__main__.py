"""``python -m bot`` is the same program as ``interlink-bot``."""

import sys

from bot.start import main

sys.exit(main())
