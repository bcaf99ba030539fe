"""Google ADK keeping its sessions, events and state in sessionstore. Runs offline: the model
is a small BaseLlm replaying a scripted conversation (a real app names a Gemini model instead).

    python examples/google_adk_sessions.py                        # sqlite:///agents.db
    python examples/google_adk_sessions.py redis://localhost:6379/0
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncGenerator

from google.adk.agents import LlmAgent
from google.adk.models.base_llm import BaseLlm
from google.adk.models.llm_request import LlmRequest
from google.adk.models.llm_response import LlmResponse
from google.adk.runners import Runner
from google.genai import types

from sessionstore.integrations import close_shared_stores
from sessionstore.integrations.google_adk import SessionStoreSessionService


class ScriptedLlm(BaseLlm):
    """Answers each model call with the next scripted content, offline."""

    script: list[types.Content]

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        yield LlmResponse(content=self.script.pop(0))


def weather(city: str) -> dict[str, str]:
    """Today's weather in a city."""
    return {"report": f"sunny, 22C in {city}"}


def model_turn(*parts: types.Part) -> types.Content:
    return types.Content(role="model", parts=list(parts))


async def main(url: str) -> None:
    model = ScriptedLlm(
        model="scripted",
        script=[
            model_turn(types.Part.from_function_call(name="weather", args={"city": "Oslo"})),
            model_turn(types.Part(text="It's sunny and 22C in Oslo.")),
            model_turn(types.Part(text="You asked about the weather in Oslo.")),
        ],
    )
    agent = LlmAgent(name="assistant", model=model, tools=[weather], output_key="last_answer")
    # was: DatabaseSessionService("sqlite+aiosqlite:///agents.db")
    service = SessionStoreSessionService(url)
    runner = Runner(agent=agent, app_name="weather_app", session_service=service)

    await service.delete_session(app_name="weather_app", user_id="user-42", session_id="demo")
    await service.create_session(
        app_name="weather_app", user_id="user-42", session_id="demo", state={"user:units": "C"}
    )
    for question in ["What's the weather in Oslo?", "What did I just ask?"]:
        message = types.Content(role="user", parts=[types.Part(text=question)])
        async for event in runner.run_async(
            user_id="user-42", session_id="demo", new_message=message
        ):
            if event.is_final_response() and event.content and event.content.parts:
                print(f"user:      {question}\nassistant: {event.content.parts[0].text}")

    session = await service.get_session(
        app_name="weather_app", user_id="user-42", session_id="demo"
    )
    assert session is not None
    print(f"\nstate: {session.state}")
    print(f"the session as a transcript in {url}:")
    for event_message in (
        await service.store.namespace('adk:["weather_app","user-42"]').load("demo") or []
    ):
        print(f"  {event_message.role:<9} {event_message.text_or_summary()}")
    await close_shared_stores()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "sqlite:///agents.db"))
