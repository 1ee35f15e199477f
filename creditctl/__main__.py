from creditctl.cli import main

main()
