"""``python -m twitterstream`` is the ``twitterstream`` command."""

import sys

from twitterstream.cli import main

sys.exit(main())
