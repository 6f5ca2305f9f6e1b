"""`manage.py train {autoencoder|ldm} …`: one front door for the training commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = {
    "autoencoder": "generation.training.autoencoder",
    "ldm": "generation.training.ldm",
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help"} or args[0] not in COMMANDS:
        known = ", ".join(COMMANDS)
        if args and args[0] not in {"-h", "--help"}:
            print(f"error: unknown training command {args[0]!r}; choose one of: {known}", file=sys.stderr)
            return 2
        print(f"usage: train {{{known}}} --data DIR --out OUT [--preset NAME] [--resume] …\n"
              "Run `train <command> --help` for the options of each.")
        return 0
    import importlib

    return importlib.import_module(COMMANDS[args[0]]).main(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
