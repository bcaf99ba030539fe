"""The ``sessionstore`` command: inspect, move and maintain stores from a shell.

The command needs the ``cli`` extra (typer and rich). This module imports
neither, so ``import sessionstore.cli`` always works and ``main()`` can say
which ``pip install`` fixes a missing extra instead of failing with a traceback.

Typer code and logic live apart:

- ``app``: the typer application; it only registers the commands.
- ``commands/``: the typer code, one module per group of commands (``sessions``,
  ``transfer``, ``maintenance``), each command thin: parse options, call the
  logic, render.
- The logic, which imports no typer and works through the public
  ``SessionStore`` API only, so every backend behaves alike: ``reading``
  (every session once, or the named ones), ``transfer`` (export lines, copy),
  ``importing`` (an import file read and checked once, then written),
  ``maintenance`` (doctor, prune, delete), ``seen_ids`` (the ids already met,
  in bounded memory), ``text`` (terminal-safe text, timestamps, JSON),
  ``render`` (rich tables and transcripts) and ``demo`` (the sample sessions).
"""

from __future__ import annotations

import sys

__all__ = ["main"]

_CLI_MODULES = {"typer", "rich", "click"}

INSTALL_HINT = "pip install 'sessionstore[cli]'"


def main() -> None:
    """Run the ``sessionstore`` command line (the console-script entry point)."""
    try:
        from sessionstore.cli.app import app
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _CLI_MODULES:
            raise
        sys.stderr.write(
            f"sessionstore: the command line needs the optional 'cli' extra "
            f"({missing} is not installed); install it with: {INSTALL_HINT}\n"
        )
        raise SystemExit(1) from None
    app(prog_name="sessionstore")
