"""The typer code of the ``sessionstore`` command: one module per group of commands.

``sessions`` (list, show, count, delete, demo), ``transfer`` (export, import,
copy) and ``maintenance`` (doctor, prune). A command parses its options, calls
the logic in the typer-free modules of ``sessionstore.cli`` and renders the
result; ``_common`` holds what they share (``--url``, running, errors).
``sessionstore.cli.app`` registers them.
"""
