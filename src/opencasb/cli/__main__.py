"""``python -m opencasb.cli``."""

from opencasb.cli import main

main()
