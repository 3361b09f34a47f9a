"""One module per ``sngan`` subcommand, each exposing ``main(argv)``."""
