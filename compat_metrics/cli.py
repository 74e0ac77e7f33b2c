"""The ``compat-metrics`` command (also ``python -m compat_metrics``).

Each subcommand lives in its own private module that defines ``HELP``,
``add_arguments(parser)`` (which sets ``run`` via ``parser.set_defaults``) and
imports TensorFlow only inside ``run`` when it needs it.
"""

import argparse
import importlib
import sys

# subcommand -> module implementing it
SUBCOMMANDS = {
    "tox-matrix": "compat_metrics._toxgen",
    "migrate": "compat_metrics._migrate.command",
    "doctor": "compat_metrics._doctor",
}


def build_parser():
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="compat-metrics",
        description="Tools for code that shares losses and metrics across TF 1.15 and TF 2.x.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(module_name)
        module.add_arguments(subparsers.add_parser(name, help=module.HELP, description=module.HELP))
    return parser


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help(sys.stderr)
        return 2
    return args.run(args)
