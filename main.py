"""Phase 3 from the shell, as originally invoked: ``python main.py --optimize_mixed_precision ...``.

The command line lives in :mod:`mpq_core.cli` (also installed as the ``mpq`` console script).
"""

import sys

from mpq_core.cli import main

if __name__ == "__main__":
    sys.exit(main())
