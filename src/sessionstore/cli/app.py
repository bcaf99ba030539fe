"""The typer application: the ``sessionstore`` command with every subcommand registered on it.

The commands themselves live in ``sessionstore.cli.commands``, one module per
group; registering them here, in one place, fixes the order ``--help`` lists them in.
"""

from __future__ import annotations

import typer

from sessionstore.cli.commands import editing, maintenance, rekey, serve, sessions, transfer

__all__ = ["app"]

app = typer.Typer(
    name="sessionstore",
    help="Inspect, move and maintain sessionstore stores (SQLite, PostgreSQL, Redis).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_show_locals=False,
)

app.command("list")(sessions.list_command)
app.command("show")(sessions.show_command)
app.command("count")(sessions.count_command)
app.command("delete")(sessions.delete_command)
app.command("attributes")(editing.attributes_command)
app.command("pop")(editing.pop_command)
app.command("fork")(editing.fork_command)
app.command("namespaces")(editing.namespaces_command)
app.command("clear")(editing.clear_command)
app.command("demo")(sessions.demo_command)
app.command("export")(transfer.export_command)
app.command("import")(transfer.import_command)
app.command("copy")(transfer.copy_command)
app.command("doctor")(maintenance.doctor_command)
app.command("prune")(maintenance.prune_command)
app.command("rekey")(rekey.rekey_command)
app.command("serve")(serve.serve_command)
