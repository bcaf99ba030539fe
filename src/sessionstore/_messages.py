"""The message model: msgspec structs in the JSON form of ``brainwires-core``.

Messages are validated and encoded once, at the edge of a write
(:func:`encode_messages`), and decoded straight into structs on load
(:func:`decode_segments`); backends only ever move JSON bytes.

The structs are declared ``gc=False``: the garbage collector does not track
them, which keeps a 10,000-message load from triggering collections that
walk the whole heap (measured: load went from 1.18x to 0.85x a raw
``orjson.loads`` into plain dicts). A struct that is not tracked must never be
part of a reference cycle; decoded JSON cannot form one, and a message whose
``metadata`` or tool ``input`` refers back to itself cannot be encoded, so
the store never holds or returns such a message.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from typing import Any, Union

import msgspec

from sessionstore._depth import (
    MAX_MESSAGE_DEPTH,
    first_too_deep,
    in_fresh_thread,
    json_depth_exceeds,
    stack_safe,
)
from sessionstore._errors import CorruptSessionError, InvalidMessageError

__all__ = [
    "MAX_MESSAGE_DEPTH",
    "Base64ImageSource",
    "Block",
    "EncodedMessages",
    "ImageBlock",
    "Message",
    "MessageInput",
    "Role",
    "TextBlock",
    "ToolResultBlock",
    "ToolUseBlock",
    "decode_segments",
    "encode_messages",
]


class Role(enum.StrEnum):
    """Who wrote a message."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"
    TOOL = "tool"


class TextBlock(msgspec.Struct, frozen=True, gc=False, tag="text", tag_field="type"):
    """Plain text inside block content."""

    text: str


class Base64ImageSource(msgspec.Struct, frozen=True, gc=False, tag="base64", tag_field="type"):
    """Image bytes, base64-encoded, with their media type (``image/png``...)."""

    media_type: str
    data: str


class ImageBlock(msgspec.Struct, frozen=True, gc=False, tag="image", tag_field="type"):
    """An image."""

    source: Base64ImageSource


class ToolUseBlock(msgspec.Struct, frozen=True, gc=False, tag="tool_use", tag_field="type"):
    """A tool call made by the assistant; ``input`` is any JSON value."""

    id: str
    name: str
    input: Any = msgspec.field(default_factory=dict)


class ToolResultBlock(
    msgspec.Struct, frozen=True, gc=False, omit_defaults=True, tag="tool_result", tag_field="type"
):
    """The result of a tool call; ``is_error`` is omitted from JSON when None."""

    tool_use_id: str
    content: str
    is_error: bool | None = None


Block = Union[TextBlock, ImageBlock, ToolUseBlock, ToolResultBlock]


class Message(
    msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True, gc=False
):
    """One message of a transcript: an immutable value compared by content.

    ``content`` is a string or a list of blocks; ``name`` and ``metadata``
    (any JSON value) are optional and omitted from JSON when absent.
    """

    role: Role
    content: str | list[Block]
    name: str | None = None
    metadata: Any = None

    @classmethod
    def user(cls, text: str, *, name: str | None = None, metadata: Any = None) -> Message:
        """A user turn with text content."""
        return cls(Role.USER, text, name, metadata)

    @classmethod
    def assistant(
        cls, content: str | list[Block], *, name: str | None = None, metadata: Any = None
    ) -> Message:
        """An assistant turn: text, or blocks such as text plus tool calls."""
        return cls(Role.ASSISTANT, content, name, metadata)

    @classmethod
    def system(cls, text: str, *, name: str | None = None, metadata: Any = None) -> Message:
        """A system prompt."""
        return cls(Role.SYSTEM, text, name, metadata)

    @classmethod
    def tool_result(cls, tool_use_id: str, content: str, is_error: bool | None = None) -> Message:
        """A ``tool`` message carrying one tool result."""
        return cls(Role.TOOL, [ToolResultBlock(tool_use_id, content, is_error)])

    @property
    def text(self) -> str | None:
        """The string content, or None when the content is a list of blocks."""
        return self.content if isinstance(self.content, str) else None

    def text_or_summary(self) -> str:
        """Any content rendered as readable text (blocks one per line)."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(_summarise_block(block) for block in self.content)

    @classmethod
    def from_dict(cls, data: Any) -> Message:
        """Build a message from its JSON form as Python values; raises InvalidMessageError."""
        try:
            message: Message = stack_safe(msgspec.convert, data, cls)
            return message
        except msgspec.ValidationError as exc:
            raise InvalidMessageError(f"invalid message: {exc}") from exc

    def to_dict(self) -> dict[str, Any]:
        """The JSON form as Python values, absent optional fields omitted."""
        result: dict[str, Any] = stack_safe(msgspec.to_builtins, self)
        return result

    @classmethod
    def from_json(cls, data: bytes | str) -> Message:
        """Decode one message from JSON text; raises InvalidMessageError."""
        try:
            return stack_safe(_MESSAGE_DECODER.decode, data)
        except msgspec.DecodeError as exc:
            raise InvalidMessageError(f"invalid message JSON: {exc}") from exc

    def to_json(self) -> bytes:
        """Encode this message as JSON bytes."""
        return stack_safe(_ENCODER.encode, self)


def _summarise_block(block: Block) -> str:
    if isinstance(block, TextBlock):
        return block.text
    if isinstance(block, ImageBlock):
        size = len(block.source.data) * 3 // 4
        return f"[image {block.source.media_type}, ~{size} bytes]"
    if isinstance(block, ToolUseBlock):
        arguments = _ENCODER.encode(block.input).decode()
        return f"[tool call {block.name} ({block.id}): {arguments}]"
    marker = " (error)" if block.is_error else ""
    return f"[tool result {block.tool_use_id}{marker}: {block.content}]"


MessageInput = Union[Message, dict[str, Any]]

_ENCODER = msgspec.json.Encoder()
_MESSAGE_DECODER = msgspec.json.Decoder(Message)
_LIST_DECODER = msgspec.json.Decoder(list[Message])
# The path msgspec appends to a validation error ("... - at `$[3].content`"); anchored
# at the end so a "$[n]" inside the offending value cannot be taken for it.
_INDEX_IN_PATH = re.compile(r" - at `\$\[(\d+)\][^`]*`$")


class EncodedMessages(msgspec.Struct, frozen=True):
    """Validated messages of one write: ``payload`` is their JSON array, ``count`` their number."""

    payload: bytes
    count: int


def encode_messages(messages: Sequence[MessageInput] | Iterable[MessageInput]) -> EncodedMessages:
    """Validate ``messages`` (structs or dicts) and encode them as one JSON array.

    Raises InvalidMessageError naming the first bad message's index and problem,
    including a message nested deeper than ``MAX_MESSAGE_DEPTH``, whatever the
    caller's stack depth.
    """
    if type(messages) is not list:
        if isinstance(messages, (str, bytes, dict, Message)) or not isinstance(messages, Iterable):
            raise InvalidMessageError(
                "messages must be a list of Message objects or dicts, "
                f"got {type(messages).__name__}"
            )
        messages = list(messages)
    try:
        return _encode(messages)
    except RecursionError:
        pass  # out of stack here: retry with a whole recursion budget
    try:
        return in_fresh_thread(_encode, messages)
    except RecursionError as exc:
        index = first_too_deep(messages)
        if index is None:  # deep through something other than dicts and lists
            index = in_fresh_thread(_first_too_deep_to_encode, messages)
        raise InvalidMessageError(
            f"message {index}: nested deeper than {MAX_MESSAGE_DEPTH} levels (or refers to itself)",
            index=index,
        ) from exc


def _encode(messages: list[MessageInput]) -> EncodedMessages:
    # Structs, the common case on every append's hot path, are used as they are (no
    # copy): only read below, and the round trip validates their values.
    structs: list[Message] = (
        messages if _all_structs(messages) else _as_structs(messages)  # type: ignore[assignment]
    )
    try:
        raw = _ENCODER.encode(structs)
    except (TypeError, ValueError, OverflowError) as exc:
        unencodable = _first_unencodable(structs)
        raise InvalidMessageError(
            f"message {unencodable}: not JSON-encodable: {exc}", index=unencodable
        ) from exc
    try:
        validated = _LIST_DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        match = _INDEX_IN_PATH.search(str(exc))
        bad_index = int(match.group(1)) if match else None
        where = "messages" if bad_index is None else f"message {bad_index}"
        raise InvalidMessageError(f"{where}: {exc}", index=bad_index) from exc
    # What loads must equal what was saved. msgspec would silently turn NaN into
    # null, bytes into base64, tuples into arrays and int keys into strings, so a
    # value that changes on its way through JSON is refused. The comparison runs
    # in C and costs far less than walking the values in Python.
    if validated != structs:
        index = next(
            i for i, pair in enumerate(zip(validated, structs, strict=True)) if pair[0] != pair[1]
        )
        raise InvalidMessageError(
            f"message {index}: holds a value that does not survive JSON unchanged "
            "(NaN or infinity, bytes, a tuple or set, a non-str object key, or a wrong type)",
            index=index,
        )
    if _free_form_too_deep(validated):
        deep = first_too_deep(validated)
        raise InvalidMessageError(
            f"message {deep}: nested deeper than {MAX_MESSAGE_DEPTH} levels", index=deep
        )
    # ``raw`` is already canonical: structs omit absent fields and ``"metadata": null``.
    return EncodedMessages(raw, len(structs))


def _free_form_too_deep(messages: list[Message]) -> bool:
    """Whether a ``metadata`` or tool ``input`` value makes a message too deep.

    Those are the only free-form values: the typed rest of a message nests 4
    levels at most (message > content > block > image source). So only they
    are encoded again (usually a small part of the payload) and measured on
    the bytes; the list around them stands for the level they hang from.
    """
    metadata = [message.metadata for message in messages if message.metadata is not None]
    inputs = [
        block.input
        for message in messages
        if type(message.content) is list
        for block in message.content
        if type(block) is ToolUseBlock
    ]
    # message > metadata: the list is level 1; message > content > block > input: levels 1-3.
    return (
        bool(metadata) and json_depth_exceeds(_ENCODER.encode(metadata), MAX_MESSAGE_DEPTH)
    ) or (bool(inputs) and json_depth_exceeds(_ENCODER.encode(inputs), MAX_MESSAGE_DEPTH - 2))


def _all_structs(items: list[Any]) -> bool:
    # A plain loop: all() over a generator costs more than the whole check for one item.
    for item in items:  # noqa: SIM110
        if type(item) is not Message:
            return False
    return True


def _first_too_deep_to_encode(messages: list[MessageInput]) -> int | None:
    """The index of the first message that alone runs out of stack to encode, or None."""
    for index, message in enumerate(messages):
        try:
            _ENCODER.encode(message)
        except RecursionError:
            return index
        except (TypeError, ValueError, OverflowError):
            continue
    return None


def _as_structs(items: list[MessageInput]) -> list[Message]:
    """The items as structs: one conversion in C for dicts, item by item to name a bad one."""
    if all(type(item) is dict for item in items):
        try:
            return msgspec.convert(items, list[Message])
        except msgspec.ValidationError:
            pass  # find and name the first bad item below
    return [_as_struct(index, item) for index, item in enumerate(items)]


def _as_struct(index: int, item: object) -> Message:
    if type(item) is Message:
        return item
    if isinstance(item, dict):
        try:
            return msgspec.convert(item, Message)
        except msgspec.ValidationError as exc:
            raise InvalidMessageError(f"message {index}: {exc}", index=index) from exc
    raise InvalidMessageError(
        f"message {index}: expected a Message or a dict, got {type(item).__name__}",
        index=index,
    )


def _first_unencodable(items: list[Message]) -> int | None:
    for index, item in enumerate(items):
        try:
            _ENCODER.encode(item)
        except (TypeError, ValueError, OverflowError, RecursionError):
            return index
    return None


def decode_segments(session_id: str, segments: Iterable[bytes]) -> list[Message]:
    """Decode a transcript stored as JSON-array segments, in order.

    Raises CorruptSessionError naming ``session_id`` when a segment does not
    decode. Whatever a write accepted decodes from any stack depth.
    """
    segments = segments if isinstance(segments, list) else list(segments)
    try:
        return _decode(session_id, segments)
    except RecursionError:
        pass  # out of stack here: retry with a whole recursion budget
    try:
        return in_fresh_thread(_decode, session_id, segments)
    except RecursionError as exc:
        raise CorruptSessionError(
            session_id, f"a message is nested too deeply to decode (limit {MAX_MESSAGE_DEPTH})"
        ) from exc


def _decode(session_id: str, segments: list[bytes]) -> list[Message]:
    messages: list[Message] = []
    try:
        for segment in segments:
            messages.extend(_LIST_DECODER.decode(segment))
    except (msgspec.DecodeError, TypeError) as exc:
        raise CorruptSessionError(session_id, str(exc)) from exc
    return messages
