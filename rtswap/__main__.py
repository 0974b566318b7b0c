import sys

from rtswap.cli import main

sys.exit(main())
