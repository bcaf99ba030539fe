"""Lossless converters between ``Message`` and the model providers' and frameworks' formats.

Each format has ``to_<format>(messages)`` and ``from_<format>(items)``:

- OpenAI Chat Completions messages: :func:`to_openai_chat`, :func:`from_openai_chat`;
- OpenAI Responses input items: :func:`to_openai_responses`, :func:`from_openai_responses`;
- Anthropic Messages, the system prompt apart: :func:`to_anthropic` (returns
  ``AnthropicMessages(system, messages)``), :func:`from_anthropic(messages, system=...)`;
- LangChain ``BaseMessage`` (needs ``sessionstore[langchain]``): :func:`to_langchain`,
  :func:`from_langchain`, imported on first use.

``from_<format>`` gives each native item a readable view (role, text, images,
tool use and tool results) so every tool and every other format can read the
transcript, and keeps the item verbatim under ``metadata[<format key>]`` only
when that view cannot reproduce it exactly: ``to_<format>(from_<format>(items))``
equals ``items`` for every item kind the format defines, and messages written
in one format load in another by their readable view. Bad input raises
``InvalidMessageError`` naming the item's index and what is wrong with it.
"""

from __future__ import annotations

from typing import Any

from sessionstore.formats.anthropic import (
    ANTHROPIC_KEY,
    AnthropicMessages,
    from_anthropic,
    to_anthropic,
)
from sessionstore.formats.openai_chat import OPENAI_CHAT_KEY, from_openai_chat, to_openai_chat
from sessionstore.formats.openai_responses import (
    OPENAI_RESPONSES_KEY,
    from_openai_responses,
    to_openai_responses,
)

__all__ = [
    "ANTHROPIC_KEY",
    "LANGCHAIN_KEY",
    "OPENAI_CHAT_KEY",
    "OPENAI_RESPONSES_KEY",
    "AnthropicMessages",
    "from_anthropic",
    "from_langchain",
    "from_openai_chat",
    "from_openai_responses",
    "to_anthropic",
    "to_langchain",
    "to_openai_chat",
    "to_openai_responses",
]

_LAZY = {"LANGCHAIN_KEY", "from_langchain", "to_langchain"}


def __getattr__(name: str) -> Any:
    # LangChain is an optional extra: import it only when its converters are used.
    if name not in _LAZY:
        raise AttributeError(f"module 'sessionstore.formats' has no attribute {name!r}")
    from sessionstore.formats import langchain

    value = getattr(langchain, name)
    globals()[name] = value
    return value
