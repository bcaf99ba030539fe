"""Adapters that make a sessionstore store the session storage of an agent framework.

One module per framework, each behind its own extra and importing only the
public API: ``sessionstore.integrations.langchain`` (``sessionstore[langchain]``).
"""
