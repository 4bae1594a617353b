"""``python -m sellerkit.cli``: the same as the ``sellerkit`` console script."""

from sellerkit.cli.main import main

main()
