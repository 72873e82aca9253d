"""Command line: ``python -m course_lib doctor`` and ``python -m course_lib data prefetch``."""

from __future__ import annotations

import sys

USAGE = """usage: python -m course_lib COMMAND

commands:
  doctor          check versions, devices, data root, network, visdom and TensorBoard
  data prefetch   download every real data set the course uses (for a lab or exam room)
"""


def main(argv: list[str] | None = None) -> int:
    """Dispatch to the sub-command's own ``main``; return its exit status."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in {"-h", "--help"}:
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command == "doctor":
        from course_lib import doctor

        return doctor.main(rest)
    if command == "data":
        from course_lib import data

        return data.main(rest)
    print(f"unknown command {command!r}\n\n{USAGE}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
