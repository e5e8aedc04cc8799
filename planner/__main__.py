from planner.cli.entry import main

main()
