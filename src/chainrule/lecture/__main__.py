"""``python -m chainrule.lecture``: run the whole lecture and print its numbers."""

import sys

from chainrule.lecture.sections import main

sys.exit(main())
