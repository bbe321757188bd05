from maia.cli import main

main()
