from dance.cli import main

main()
