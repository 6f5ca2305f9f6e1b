"""``python -m generation.phantom --n N --out DIR [--seed S]``: write a phantom data set."""

import sys

from .dataset import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
