import sys

from procvision_build.commands.cli import main

sys.exit(main())
