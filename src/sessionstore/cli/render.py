"""Rich rendering for people: the session table of ``list`` and the transcript of ``show``.

All stored text goes through ``Text`` objects (never markup) with control characters
escaped, so a transcript containing ``[bold]`` or an ANSI escape prints as itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.highlighter import JSONHighlighter
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from sessionstore._messages import (
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)
from sessionstore._records import SessionRecord
from sessionstore.cli.text import encode_json, format_timestamp, pretty_json, safe_text

__all__ = [
    "ROLE_STYLES",
    "attribute_text",
    "decoded_size",
    "record_to_json",
    "render_records",
    "render_transcript",
]

ROLE_STYLES: dict[Role, str] = {
    Role.USER: "bold green",
    Role.ASSISTANT: "bold cyan",
    Role.SYSTEM: "bold magenta",
    Role.TOOL: "bold yellow",
}


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def attribute_text(value: Any) -> str:
    """An attribute value for a terminal: a string as itself, anything else as its JSON."""
    text = value if isinstance(value, str) else encode_json(value).decode()
    return safe_text(text)


def render_records(
    console: Console,
    records: Sequence[tuple[str, SessionRecord]],
    *,
    show_namespace: bool = False,
) -> None:
    """Print (namespace, record) pairs as a table: [namespace,] id, title, messages, times (UTC)."""
    table = Table(show_edge=False, header_style="bold")
    if show_namespace:
        table.add_column("namespace", overflow="fold")
    table.add_column("id", overflow="fold")
    table.add_column("title", overflow="ellipsis", max_width=40, no_wrap=True)
    table.add_column("messages", justify="right")
    table.add_column("created (UTC)", no_wrap=True)
    table.add_column("updated (UTC)", no_wrap=True)
    table.add_column("version", justify="right")
    for namespace, record in records:
        title = record.attributes.get("title")
        where = Text(safe_text(namespace)) if namespace else Text("(default)", style="dim")
        cells: list[RenderableType] = [where] if show_namespace else []
        cells += [
            Text(safe_text(record.id)),
            Text("" if title is None else attribute_text(title)),
            str(record.message_count),
            _when(record.created_at),
            _when(record.updated_at),
            str(record.version),
        ]
        table.add_row(*cells)
    console.print(table)


def record_to_json(record: SessionRecord, namespace: str = "") -> dict[str, Any]:
    """A record as JSON-ready values (``list --json``)."""
    return {
        "id": str(record.id),
        "namespace": namespace,
        "message_count": record.message_count,
        "created_at": format_timestamp(record.created_at),
        "updated_at": format_timestamp(record.updated_at),
        "version": record.version,
        "attributes": dict(record.attributes),
    }


def decoded_size(data: str) -> int:
    """Bytes that base64 ``data`` decodes to (ignoring whitespace), without decoding it."""
    compact = "".join(data.split())
    padding = len(compact) - len(compact.rstrip("="))
    return max(0, len(compact) * 3 // 4 - padding)


_JSON_COLOURS = JSONHighlighter()


def _pretty_json(value: Any) -> Text:
    # pretty_json escapes every unsafe character (rich's JSON would decode them again).
    return _JSON_COLOURS(Text(pretty_json(value)))


def _label(text: str, style: str) -> Text:
    return Text(text, style=style)


def _block(block: Any) -> Iterable[RenderableType]:
    if isinstance(block, TextBlock):
        yield Text(safe_text(block.text, keep_newlines=True))
    elif isinstance(block, ImageBlock):
        source = block.source
        yield _label(
            f"[image {safe_text(source.media_type)}, {decoded_size(source.data):,} bytes]",
            "italic blue",
        )
    elif isinstance(block, ToolUseBlock):
        yield Text.assemble(
            ("tool call ", "bold yellow"),
            (safe_text(block.name), "bold"),
            (f"  id={safe_text(block.id)}", "dim"),
        )
        yield _pretty_json(block.input)
    elif isinstance(block, ToolResultBlock):
        header = Text.assemble(
            ("tool result", "bold yellow"), (f" for {safe_text(block.tool_use_id)}", "dim")
        )
        if block.is_error:
            header.append("  ERROR", style="bold red")
        yield header
        style = "red" if block.is_error else ""
        yield Text(safe_text(block.content, keep_newlines=True), style=style)


def _message_panel(index: int, message: Message) -> Panel:
    style = ROLE_STYLES.get(message.role, "bold")
    title = Text.assemble((f"#{index} ", "dim"), (message.role.value, style))
    if message.name is not None:
        title.append(f" ({safe_text(message.name)})", style="italic")
    parts: list[RenderableType] = []
    if isinstance(message.content, str):
        parts.append(Text(safe_text(message.content, keep_newlines=True)))
    else:
        for block in message.content:
            parts.extend(_block(block))
    if message.metadata is not None:
        parts.append(_label("metadata", "dim bold"))
        parts.append(_pretty_json(message.metadata))
    border = style.replace("bold ", "")
    return Panel(Group(*parts), title=title, title_align="left", border_style=border)


def _header(record: SessionRecord, namespace: str, shown: int) -> Text:
    """The lines under a transcript's title: where, how many, version, times, attributes."""
    total = record.message_count
    plural = "s" if total != 1 else ""
    lines = [f"{total} message{plural}, version {record.version}"]
    if shown < total:
        lines[0] += f"; showing the last {shown}"
    if namespace:
        lines.insert(0, f"namespace {safe_text(namespace, quote=True)}")
    lines.append(f"created {_when(record.created_at)} UTC, updated {_when(record.updated_at)} UTC")
    for key, value in sorted(record.attributes.items()):
        lines.append(f"{safe_text(key)}: {attribute_text(value)}")
    return Text("\n" + "\n".join(lines), style="dim")


def render_transcript(
    console: Console,
    record: SessionRecord,
    messages: Sequence[Message],
    *,
    namespace: str = "",
) -> None:
    """Print a transcript for a person: a header, then one coloured panel per message.

    ``messages`` may be the tail of the transcript; panels are numbered by
    their index in the whole transcript.
    """
    header = Text.assemble(("session ", "bold"), (safe_text(record.id, quote=True), "bold"))
    header.append(_header(record, namespace, len(messages)))
    console.print(header)
    if not messages:
        console.print(Text("(no messages)", style="dim italic"))
    first = record.message_count - len(messages)
    for index, message in enumerate(messages, start=first):
        console.print(_message_panel(index, message))
