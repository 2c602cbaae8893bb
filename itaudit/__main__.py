from itaudit.cli import main

main()
