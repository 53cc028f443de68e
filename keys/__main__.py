import sys

from keys.cli import main

sys.exit(main())
