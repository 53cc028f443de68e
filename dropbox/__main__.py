import sys

from dropbox.cli import main

sys.exit(main())
