import sys

from facecast.runtime.cli import main

sys.exit(main())
