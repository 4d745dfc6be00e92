"""Allow ``python -m gateway`` where the console script is not on PATH."""

from gateway.cli import main

main()
