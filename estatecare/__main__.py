"""``python -m estatecare`` runs the CLI."""

from estatecare.cli import main

main()
