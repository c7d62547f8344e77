import sys

from procvision_build.cli import main

sys.exit(main())
