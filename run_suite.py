#!/usr/bin/env python
"""Runs the inductive-bias benchmark suite and writes reports/index.html.

    pip install -r requirements.txt
    python run_suite.py            # python run_suite.py --help for options
"""

import sys

from suite.cli import main

if __name__ == "__main__":
    sys.exit(main())
