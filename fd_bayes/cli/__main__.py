"""``python -m fd_bayes.cli``: the ``fd-bayes`` command."""

from fd_bayes.cli.app import main

if __name__ == "__main__":
    main()
