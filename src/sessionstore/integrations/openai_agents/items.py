"""SDK input items <-> ``Message``: a readable view, with the item kept verbatim when needed.

Every item the SDK writes becomes one message whose role and content are a
view of it (text, tool use, tool result), so ``sessionstore show``, ``export``
and other frameworks still read a transcript. When the view does not convert
back into exactly the same item (ids, statuses, reasoning, MCP calls...), the
item itself is kept in ``metadata["openai_agents"]["item"]`` and returned as
written: the SDK compares ``json.dumps(item, sort_keys=True)`` of what it
wrote with what it reads back. A message written by anything else (plain
sessionstore, another framework) converts by best effort into zero or more
items: text to messages, tool use to ``function_call``, tool results to
``function_call_output``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from sessionstore import (
    Base64ImageSource,
    Block,
    ImageBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

__all__ = ["METADATA_KEY", "item_to_message", "message_to_items", "to_plain_item"]

#: The key of ``Message.metadata`` under which an item is kept verbatim.
METADATA_KEY = "openai_agents"

Item = dict[str, Any]

_ROLES = {"user": Role.USER, "assistant": Role.ASSISTANT, "system": Role.SYSTEM}
_ROLES["developer"] = Role.SYSTEM

#: Call items: the argument-like field each keeps its input in, in order of preference.
_CALL_INPUT_FIELDS = ("arguments", "input", "action", "actions", "operation", "code", "queries")
_CALLS = {
    "function_call",
    "custom_tool_call",
    "computer_call",
    "local_shell_call",
    "shell_call",
    "apply_patch_call",
    "mcp_call",
    "mcp_approval_request",
    "file_search_call",
    "web_search_call",
    "code_interpreter_call",
    "image_generation_call",
    "tool_search_call",
    "program",
}
#: Output items: the field holding their result.
_OUTPUTS = {
    "function_call_output": "output",
    "custom_tool_call_output": "output",
    "computer_call_output": "output",
    "local_shell_call_output": "output",
    "shell_call_output": "output",
    "apply_patch_call_output": "output",
    "tool_search_output": "tools",
    "program_output": "result",
}
_ENCODER = msgspec.json.Encoder(order="sorted")
#: The key sets of the items ``message_to_items`` makes from a view: only these can match.
_VIEWABLE_KEYS = [
    {"role", "content"},
    {"type", "call_id", "name", "arguments"},
    {"type", "call_id", "output"},
]


def to_plain_item(item: Any) -> Item:
    """The item as a plain dict (a pydantic model is dumped as the SDK's ``to_input_item``)."""
    if isinstance(item, dict):
        return item
    if isinstance(item, Mapping):
        return dict(item)
    dump = getattr(item, "model_dump", None)
    if dump is not None:
        plain: Item = dump(exclude_unset=True, mode="json")
        return plain
    raise TypeError(f"an input item must be a dict, got {type(item).__name__}")


def item_to_message(item: Any) -> Message:
    """The message for one SDK input item: its view, plus the item itself unless the view
    converts back into exactly the same item."""
    data = to_plain_item(item)
    view = _view(data)
    if data.keys() in _VIEWABLE_KEYS and _same(message_to_items(view), [data]):
        return view
    return Message(view.role, view.content, view.name, {METADATA_KEY: {"item": data}})


def message_to_items(message: Message) -> list[Item]:
    """The SDK items a stored message stands for: the verbatim one, or a best-effort view."""
    kept = _kept_item(message.metadata)
    if kept is not None:
        return [kept]
    role = "user" if message.role is Role.TOOL else message.role.value
    if isinstance(message.content, str):
        return [{"role": role, "content": message.content}]
    items: list[Item] = []
    parts: list[Block] = []
    for block in message.content:
        if isinstance(block, TextBlock | ImageBlock):
            parts.append(block)
            continue
        _flush_parts(role, parts, items)
        items.append(_block_item(block))
    _flush_parts(role, parts, items)
    return items


def _kept_item(metadata: Any) -> Item | None:
    if not isinstance(metadata, dict):
        return None
    mine = metadata.get(METADATA_KEY)
    if isinstance(mine, dict) and isinstance(mine.get("item"), dict):
        kept: Item = mine["item"]
        return kept
    return None


def _same(left: list[Item], right: list[Item]) -> bool:
    try:
        return _ENCODER.encode(left) == _ENCODER.encode(right)
    except (TypeError, msgspec.EncodeError):
        return False


# -- message -> items ---------------------------------------------------------------------------


def _flush_parts(role: str, parts: list[Block], items: list[Item]) -> None:
    if not parts:
        return
    if all(isinstance(part, TextBlock) for part in parts):
        items.append({"role": role, "content": "\n".join(_text(part) for part in parts)})
    else:
        items.append({"role": role, "content": [_content_part(part) for part in parts]})
    parts.clear()


def _text(block: Block) -> str:
    return block.text if isinstance(block, TextBlock) else ""


def _content_part(block: Block) -> Item:
    if isinstance(block, ImageBlock):
        source = block.source
        url = f"data:{source.media_type};base64,{source.data}"
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    return {"type": "input_text", "text": _text(block)}


def _block_item(block: Block) -> Item:
    if isinstance(block, ToolUseBlock):
        arguments = json.dumps(block.input, ensure_ascii=False, separators=(",", ":"))
        return {
            "type": "function_call",
            "call_id": block.id,
            "name": block.name,
            "arguments": arguments,
        }
    assert isinstance(block, ToolResultBlock)
    return {"type": "function_call_output", "call_id": block.tool_use_id, "output": block.content}


# -- item -> view ---------------------------------------------------------------------------------


def _view(data: Item) -> Message:
    kind = data.get("type")
    if not isinstance(kind, str):
        kind = None  # not a kind the SDK defines; the item is kept verbatim anyway
    role = data.get("role")
    if kind in (None, "message") and isinstance(role, str) and role in _ROLES:
        return Message(_ROLES[role], _message_content(data.get("content")))
    if kind in _CALLS:
        return Message(Role.ASSISTANT, [_call_block(kind, data)])
    if kind in _OUTPUTS:
        call_id = data.get("call_id") or data.get("id") or ""
        output = _readable(data.get(_OUTPUTS[kind]))
        return Message(Role.TOOL, [ToolResultBlock(str(call_id), output)])
    if kind == "mcp_approval_response":
        verdict = "approved" if data.get("approve") else "denied"
        block = ToolResultBlock(str(data.get("approval_request_id", "")), verdict)
        return Message(Role.TOOL, [block])
    summary = _SUMMARIES.get(kind or "", _summary_of_unknown)
    role_of_summary = Role.SYSTEM if kind in _SYSTEM_KINDS else Role.ASSISTANT
    return Message(role_of_summary, [TextBlock(summary(data))])


def _message_content(content: Any) -> str | list[Block]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return _readable(content)
    return [_part_block(part) for part in content]


def _part_block(part: Any) -> Block:
    if not isinstance(part, dict):
        return TextBlock(_readable(part))
    kind = part.get("type")
    for key in ("text", "refusal"):
        if isinstance(part.get(key), str):
            return TextBlock(part[key])
    if kind == "input_image":
        url = part.get("image_url")
        if isinstance(url, str) and url.startswith("data:") and ";base64," in url:
            media_type, _, encoded = url[5:].partition(";base64,")
            return ImageBlock(Base64ImageSource(media_type, encoded))
        return TextBlock(f"[image {url or part.get('file_id', '')}]")
    if kind == "input_file":
        return TextBlock(f"[file {part.get('filename') or part.get('file_id') or ''}]")
    return TextBlock(f"[{kind or 'content'}]")


def _call_block(kind: str, data: Item) -> ToolUseBlock:
    call_id = data.get("call_id") or data.get("id") or ""
    name = data.get("name") or kind.removesuffix("_call")
    call_input: Any = {}
    for field in _CALL_INPUT_FIELDS:
        if field in data:
            call_input = _parsed(data[field]) if field == "arguments" else data[field]
            break
    return ToolUseBlock(str(call_id), str(name), call_input)


def _parsed(arguments: Any) -> Any:
    if not isinstance(arguments, str):
        return arguments
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def _readable(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        texts = [part.get("text") for part in value if isinstance(part, dict)]
        if texts and all(isinstance(text, str) for text in texts):
            return "\n".join(str(text) for text in texts)
    return json.dumps(value, ensure_ascii=False, default=str)


def _reasoning(data: Item) -> str:
    summary = data.get("summary")
    texts = [_readable(part.get("text", "")) for part in summary or [] if isinstance(part, dict)]
    return "[reasoning] " + " ".join(texts) if texts else "[reasoning]"


def _tool_names(data: Item) -> str:
    tools = data.get("tools") or []
    return ", ".join(str(tool.get("name", "?")) for tool in tools if isinstance(tool, dict))


def _summary_of_unknown(data: Item) -> str:
    if data.get("__enc__") is not None:
        return "[encrypted item]"
    if "type" not in data and "id" in data:  # an item_reference may omit its type
        return _SUMMARIES["item_reference"](data)
    return f"[{data.get('type') or 'item'}]"


_SYSTEM_KINDS = {"additional_tools", "configuration_update", "compaction_trigger", "compaction"}
_SUMMARIES: dict[str, Callable[[Item], str]] = {
    "reasoning": _reasoning,
    "compaction": lambda data: "[compacted history]",
    "item_reference": lambda data: f"[item reference {data.get('id', '')}]",
    "mcp_list_tools": lambda data: (
        f"[MCP tools of {data.get('server_label')}: {_tool_names(data)}]"
    ),
    "additional_tools": lambda data: f"[additional tools: {_tool_names(data)}]",
}
