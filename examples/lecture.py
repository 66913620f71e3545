"""The backpropagation lecture, executable: the same as ``python -m chainrule.lecture``.

Run ``python examples/lecture.py --dot graphs/`` to also write the drawn graphs (DOT, and
SVG where Graphviz is installed). The sections are explained in docs/lecture.md.
"""

import sys

from chainrule.lecture import main

if __name__ == "__main__":
    sys.exit(main())
