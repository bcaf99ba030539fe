"""Every PydanticAI message part kind, for the adapter's tests."""

from __future__ import annotations

import warnings
from typing import Any

from pydantic_ai import messages as m
from pydantic_ai._deferred_capabilities import LoadCapabilityCallPart, LoadCapabilityReturnPart
from pydantic_ai._tool_search import (
    NativeToolSearchCallPart,
    NativeToolSearchReturnPart,
    ToolSearchCallPart,
    ToolSearchReturnPart,
)
from pydantic_ai.messages import ModelMessage, ModelMessagesTypeAdapter, ModelRequest, ModelResponse


def dump(messages: list[ModelMessage]) -> list[Any]:
    """``messages`` as PydanticAI's JSON: what lossless is checked on."""
    return ModelMessagesTypeAdapter.dump_python(messages, mode="json")  # type: ignore[no-any-return]


PNG = b"\x89PNG\r\n\x1a\n"

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # RetryPromptPart is deprecated, yet still read and listed
    LEGACY_PARTS = [
        m.RetryPromptPart("try again", tool_name="weather", tool_call_id="c2"),
        m.RetryPromptPart("no output"),
    ]

REQUEST_PARTS: list[Any] = [
    *LEGACY_PARTS,
    m.SystemPromptPart("Be brief."),
    m.UserPromptPart("plain"),
    m.UserPromptPart(
        [
            "look",
            m.BinaryContent(PNG, media_type="image/png"),
            m.ImageUrl("https://example.com/a.png"),
            m.AudioUrl("https://example.com/a.mp3"),
            m.VideoUrl("https://example.com/a.mp4"),
            m.DocumentUrl("https://example.com/a.pdf"),
            m.CachePoint(),
        ]
    ),
    m.ToolReturnPart("weather", {"temp": 22}, "c1"),
    m.RetryFeedbackPart("bad", retry=m.RetryInfo("validation_error", attempt=1)),
    ToolSearchReturnPart(content={"discovered_tools": []}),
    LoadCapabilityReturnPart(content={"name": "x"}),  # type: ignore[typeddict-unknown-key]
    m.ToolAvailabilityDeltaPart(),
    m.CapabilityLoadDeltaPart(),
    m.ModelSettingsDeltaPart(settings={}),
    m.InstructionDeltaPart(id="i1", content="x"),  # type: ignore[arg-type]
    m.InstructionBaselinePart(instructions=[]),
    m.SpeechPart(speaker="user"),
    m.ToolReturnPart("weather", "timeout", "c4", outcome="retried"),
    m.CompactionPart(),
]
RESPONSE_PARTS: list[Any] = [
    m.TextPart("Calling."),
    m.ThinkingPart("hmm", signature="sig", provider_name="anthropic"),
    m.ToolCallPart("weather", {"city": "Oslo"}, "c1"),
    m.ToolCallPart("raw", '{"partial', "c3"),
    m.NativeToolCallPart("web_search", {"q": "x"}, "n1", provider_name="openai"),
    m.NativeToolReturnPart("web_search", {"hits": 1}, "n1", provider_name="openai"),
    ToolSearchCallPart(),
    NativeToolSearchCallPart(),
    NativeToolSearchReturnPart(content={"discovered_tools": []}),
    LoadCapabilityCallPart(),
    m.CompactionPart(),
    m.FilePart(content=m.BinaryContent(PNG, media_type="image/png")),
    m.SpeechPart(speaker="assistant"),
]
#: One message per part kind, and the usual mixed ones.
EVERY_KIND: list[ModelMessage] = [
    *(ModelRequest(parts=[part]) for part in REQUEST_PARTS),
    *(ModelResponse(parts=[part]) for part in RESPONSE_PARTS),
    ModelRequest(parts=REQUEST_PARTS[:3], instructions="Be kind."),
    ModelResponse(parts=RESPONSE_PARTS[:4], model_name="test", finish_reason="tool_call"),
    ModelRequest(parts=[]),
    ModelResponse(parts=[]),
]
