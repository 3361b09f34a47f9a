from sngan_cli.cli import main

main()
