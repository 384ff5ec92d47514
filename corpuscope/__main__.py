"""`python -m corpuscope` runs the command line."""

from corpuscope.cli import main

main()
