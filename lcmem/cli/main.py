"""The ``lcmem`` command: one sub-command per module, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lcmem.about import version_text
from lcmem.cli import dataset, embed, evaluate, import_checkpoint, index, info, init_bundle, project, scan, train
from lcmem.errors import Cancelled, LCMemError
from lcmem.io.reasons import describe_os_error
from lcmem.logs import configure_logging, release_logging

COMMANDS = (scan, project, embed, index, train, evaluate, dataset, info, import_checkpoint, init_bundle)


class VersionAction(argparse.Action):
    """``--version``: print lcmem's version and its libraries' on one line, then exit."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The full ``lcmem`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="lcmem", description="Find training images that a generative model has memorized (LCMem)."
    )
    parser.add_argument("--version", action=VersionAction, help="print the versions of lcmem and its libraries")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress details, and the libraries' messages, to stderr"
    )
    parser.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="append every log record, the libraries' included, to this file (default for scan: OUT.log; for "
        "project scan: PROJECT.log)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lcmem``; return the exit status (0 ok, 1 error, 2 usage, 130 cancelled)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    default_log = getattr(args, "default_log_file", None)
    configure_logging(args.verbose, args.log_file or (default_log(args) if default_log else None))
    try:
        return _run(args)
    finally:
        release_logging()


def _run(args: argparse.Namespace) -> int:
    """Run the chosen command; turn the errors a user can act on into a message and an exit status."""
    try:
        return int(args.run(args))
    except Cancelled:
        print("lcmem: cancelled; finished work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("lcmem: interrupted; finished work is kept and a rerun resumes", file=sys.stderr)
        return 130
    except LCMemError as exc:
        print(f"lcmem: error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader of our output went away (e.g. `| head`): not an error of ours
        sys.stderr.close()
        return 0
    except OSError as exc:  # an output that cannot be written: disk full, read-only or missing folder
        where = f"{exc.filename}: " if exc.filename else ""
        print(
            f"lcmem: error: {where}{describe_os_error(exc)}; check free disk space and write permission",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
