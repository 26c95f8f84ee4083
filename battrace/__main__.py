from battrace.cli import main

main()
