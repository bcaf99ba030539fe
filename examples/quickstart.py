"""Store a realistic agent conversation in ./sessions.db, append a turn, list, print it back."""

from __future__ import annotations

import asyncio

from sessionstore import Message, TextBlock, ToolUseBlock, open_store


async def main() -> None:
    """Run the quickstart against ``sqlite:///sessions.db`` (or ``$SESSIONSTORE_URL``)."""
    async with open_store() as store:
        session_id = "quickstart:weather"
        await store.save(
            session_id,
            [
                Message.system("You are a helpful assistant with a weather tool."),
                Message.user("What's the weather in Oslo?"),
                Message.assistant(
                    [
                        TextBlock("Let me check."),
                        ToolUseBlock("toolu_1", "weather", {"city": "Oslo"}),
                    ]
                ),
                Message.tool_result("toolu_1", "sunny, 22C"),
                Message.assistant("It's sunny and 22C in Oslo."),
            ],
        )
        record = await store.append(session_id, [Message.user("Thanks! And tomorrow?")])
        print(f"saved {record.id!r}: {record.message_count} messages, version {record.version}")

        print("\nsessions, newest last:")
        for listed in await store.list():
            print(f"  {listed.id}  {listed.message_count} messages  updated {listed.updated_at}")

        print(f"\ntranscript of {session_id!r}:")
        for message in await store.load(session_id) or []:
            text = message.text_or_summary().replace("\n", "\n" + " " * 13)
            print(f"  {message.role:>9}: {text}")


if __name__ == "__main__":
    asyncio.run(main())
