"""The OpenAI Agents SDK keeping its history in sessionstore. Runs offline: the model is the
SDK's own ScriptedModel replaying a short conversation (a real app names a model instead).

    python examples/openai_agents_session.py                        # sqlite:///agents.db
    python examples/openai_agents_session.py redis://localhost:6379/0
"""

from __future__ import annotations

import asyncio
import sys

from agents import Agent, Runner, function_tool, set_tracing_disabled
from agents.testing import ScriptedModel, assistant_message, function_call

from sessionstore.integrations import close_shared_stores
from sessionstore.integrations.openai_agents import SessionStoreSession


@function_tool
def weather(city: str) -> str:
    """Today's weather in a city."""
    return f"sunny, 22C in {city}"


async def main(url: str) -> None:
    set_tracing_disabled(True)  # offline: no trace upload
    model = ScriptedModel(
        [
            [function_call("weather", {"city": "Oslo"}, call_id="call_1")],
            [assistant_message("It's sunny and 22C in Oslo.")],
            [assistant_message("You asked about the weather in Oslo.")],
        ]
    )
    agent = Agent(name="assistant", instructions="Be brief.", model=model, tools=[weather])

    session = SessionStoreSession("user-42", url)  # was: SQLiteSession("user-42", "agents.db")
    await session.clear_session()  # start this demo afresh on every run
    for question in ["What's the weather in Oslo?", "What did I just ask?"]:
        result = await Runner.run(agent, question, session=session)
        print(f"user:      {question}\nassistant: {result.final_output}")

    print(f"\nthe session as a transcript in {url}:")
    for message in await session.store.load("user-42") or []:
        print(f"  {message.role:<9} {message.text_or_summary()}")
    await close_shared_stores()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///agents.db"))
