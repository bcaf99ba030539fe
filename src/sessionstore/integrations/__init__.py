"""Adapters that make a ``SessionStore`` the session storage of an agent framework.

One subpackage per framework, each behind its own extra, imported only when
used (``import sessionstore.integrations`` imports no framework):

- ``sessionstore.integrations.openai_agents``: ``SessionStoreSession``, a
  ``Session`` of the OpenAI Agents SDK (``pip install 'sessionstore[openai-agents]'``).
- ``sessionstore.integrations.langchain``: ``SessionStoreChatMessageHistory``,
  LangChain's chat history (``pip install 'sessionstore[langchain]'``).
- ``sessionstore.integrations.llama_index``: ``SessionStoreChatStore``, the
  ``AsyncDBChatStore`` LlamaIndex's ``Memory`` keeps messages in
  (``pip install 'sessionstore[llama-index]'``).
- ``sessionstore.integrations.pydantic_ai``: ``SessionStoreConversationStore``,
  PydanticAI's ``ConversationStore``, and ``SessionStoreMessageHistory`` for
  ``message_history=`` (``pip install 'sessionstore[pydantic-ai]'``).
- ``sessionstore.integrations.google_adk``: ``SessionStoreSessionService``, a
  Google ADK session service (``pip install 'sessionstore[google-adk]'``).

Every adapter takes ``store=`` as a ``SessionStore`` (a namespace view is
fine), a URL, or None for ``$SESSIONSTORE_URL`` then the default; stores
opened from the same URL are shared by the whole process (``shared_store``), so
building one adapter per request is cheap; ``await close_shared_stores()`` at
shutdown closes them.
"""

from __future__ import annotations

from sessionstore.integrations._shared import close_shared_stores, shared_store

__all__ = ["close_shared_stores", "shared_store"]
