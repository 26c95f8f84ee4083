from battrace.cli.main import main

main()
