"""One example of every input item kind the OpenAI Agents SDK defines, and test helpers.

``SAMPLE_ITEMS`` holds one item per member of ``TResponseInputItem`` (the
Responses API's ``ResponseInputItemParam`` union), each checked against that
member's own TypedDict by ``test_the_catalogue_covers_every_item_kind``.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import typing
from pathlib import Path
from types import ModuleType
from typing import Any

from openai.types.responses import response_input_item_param

from sessionstore import SessionStore

ROOT = Path(__file__).resolve().parent.parent

#: (union member name, item) for every member of ``ResponseInputItemParam``.
SAMPLE_ITEMS: list[tuple[str, dict[str, Any]]] = [
    ("EasyInputMessageParam", {"role": "user", "content": "What's the weather in Oslo?"}),
    (
        "Message",
        {
            "type": "message",
            "role": "developer",
            "content": [{"type": "input_text", "text": "Answer in one line."}],
        },
    ),
    (
        "ResponseOutputMessageParam",
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": "Sunny, 22C.", "annotations": []}],
        },
    ),
    (
        "ResponseFileSearchToolCallParam",
        {"id": "fs_1", "type": "file_search_call", "queries": ["oslo"], "status": "completed"},
    ),
    (
        "ResponseComputerToolCallParam",
        {
            "id": "cu_1",
            "call_id": "call_cu",
            "type": "computer_call",
            "action": {"type": "click", "button": "left", "x": 1, "y": 2},
            "pending_safety_checks": [],
            "status": "completed",
        },
    ),
    (
        "ComputerCallOutput",
        {
            "call_id": "call_cu",
            "type": "computer_call_output",
            "output": {"type": "computer_screenshot", "image_url": "https://x/s.png"},
        },
    ),
    (
        "ResponseFunctionWebSearchParam",
        {
            "id": "ws_1",
            "type": "web_search_call",
            "status": "completed",
            "action": {"type": "search", "query": "oslo weather"},
        },
    ),
    (
        "ResponseFunctionToolCallParam",
        {
            "id": "fc_1",
            "call_id": "call_1",
            "type": "function_call",
            "name": "weather",
            "arguments": '{"city": "Oslo"}',
            "status": "completed",
        },
    ),
    ("FunctionCallOutput", {"call_id": "call_1", "type": "function_call_output", "output": "22C"}),
    ("ToolSearchCall", {"type": "tool_search_call", "arguments": {"query": "weather"}}),
    ("ResponseToolSearchOutputItemParamParam", {"type": "tool_search_output", "tools": []}),
    ("AdditionalTools", {"type": "additional_tools", "role": "developer", "tools": []}),
    ("ResponseConfigurationUpdateItemParamParam", {"type": "configuration_update"}),
    (
        "ResponseReasoningItemParam",
        {
            "id": "rs_1",
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "Look up the weather."}],
            "encrypted_content": "gAAAAB...",
        },
    ),
    ("ResponseCompactionItemParamParam", {"type": "compaction", "encrypted_content": "gAAA..."}),
    (
        "ImageGenerationCall",
        {"id": "ig_1", "type": "image_generation_call", "result": "iVBOR", "status": "completed"},
    ),
    (
        "ResponseCodeInterpreterToolCallParam",
        {
            "id": "ci_1",
            "type": "code_interpreter_call",
            "code": "print(1)",
            "container_id": "cntr_1",
            "outputs": [{"type": "logs", "logs": "1"}],
            "status": "completed",
        },
    ),
    (
        "LocalShellCall",
        {
            "id": "ls_1",
            "call_id": "call_ls",
            "type": "local_shell_call",
            "status": "completed",
            "action": {"type": "exec", "command": ["ls"], "env": {}},
        },
    ),
    ("LocalShellCallOutput", {"id": "call_ls", "type": "local_shell_call_output", "output": "a"}),
    (
        "ShellCall",
        {"call_id": "call_sh", "type": "shell_call", "action": {"commands": ["pwd"]}},
    ),
    (
        "ShellCallOutput",
        {
            "call_id": "call_sh",
            "type": "shell_call_output",
            "output": [{"stdout": "/", "stderr": "", "outcome": {"type": "exit", "exit_code": 0}}],
        },
    ),
    (
        "ApplyPatchCall",
        {
            "call_id": "call_ap",
            "type": "apply_patch_call",
            "status": "completed",
            "operation": {"type": "delete_file", "path": "a.txt"},
        },
    ),
    (
        "ApplyPatchCallOutput",
        {"call_id": "call_ap", "type": "apply_patch_call_output", "status": "completed"},
    ),
    (
        "McpListTools",
        {
            "id": "ml_1",
            "type": "mcp_list_tools",
            "server_label": "docs",
            "tools": [{"name": "search", "input_schema": {}}],
        },
    ),
    (
        "McpApprovalRequest",
        {
            "id": "mar_1",
            "type": "mcp_approval_request",
            "name": "search",
            "server_label": "docs",
            "arguments": '{"q": "x"}',
        },
    ),
    (
        "McpApprovalResponse",
        {"type": "mcp_approval_response", "approval_request_id": "mar_1", "approve": True},
    ),
    (
        "McpCall",
        {
            "id": "mc_1",
            "type": "mcp_call",
            "name": "search",
            "server_label": "docs",
            "arguments": '{"q": "x"}',
            "output": "found",
        },
    ),
    (
        "ResponseCustomToolCallOutputParam",
        {"call_id": "call_ct", "type": "custom_tool_call_output", "output": "done"},
    ),
    (
        "ResponseCustomToolCallParam",
        {"call_id": "call_ct", "type": "custom_tool_call", "name": "grammar", "input": "x+1"},
    ),
    ("CompactionTrigger", {"type": "compaction_trigger"}),
    ("ItemReference", {"id": "msg_0", "type": "item_reference"}),
    (
        "Program",
        {
            "id": "pg_1",
            "call_id": "call_pg",
            "type": "program",
            "code": "return 1",
            "fingerprint": "abc",
        },
    ),
    (
        "ProgramOutput",
        {
            "id": "po_1",
            "call_id": "call_pg",
            "type": "program_output",
            "result": "1",
            "status": "completed",
        },
    ),
]


def union_members() -> dict[str, Any]:
    """The SDK's input item union, by member name."""
    members = typing.get_args(response_input_item_param.ResponseInputItemParam)
    return {member.__name__: member for member in members}


def dumped(items: list[Any]) -> list[str]:
    """What the SDK's runner compares: ``json.dumps(item, sort_keys=True)`` of each item."""
    return [json.dumps(item, sort_keys=True) for item in items]


def readme_backend() -> SessionStore:
    """A store of the README's example backend (``examples/custom_backend.py``)."""
    store: SessionStore = load_example("custom_backend").DictSessionStore()
    return store


def load_example(stem: str) -> ModuleType:
    """The module ``examples/<stem>.py``, imported once."""
    name = f"example_{stem}"
    path = ROOT / "examples" / f"{stem}.py"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
