"""What the framework adapters' tests share: a transcript no framework wrote, a missing extra."""

from __future__ import annotations

import runpy
import subprocess
import sys
import textwrap
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sessionstore import Message, ToolUseBlock

#: A transcript written by plain sessionstore: every adapter loads it by its readable view.
FOREIGN_TRANSCRIPT = [
    Message.system("Be brief."),
    Message.user("Weather?"),
    Message.assistant([ToolUseBlock("c9", "weather", {"city": "Oslo"})]),
    Message.tool_result("c9", "rain"),
    Message.assistant("Rain."),
]


def error_importing_without(package: str, module: str) -> str:
    """In a fresh interpreter where ``package`` cannot be imported, import ``module``, which
    must raise MissingDependencyError: return that error's message."""
    code = textwrap.dedent(
        f"""
        import sys
        sys.modules[{package!r}] = None
        from sessionstore import MissingDependencyError
        try:
            import {module}
        except MissingDependencyError as exc:
            print(exc)
        else:
            raise SystemExit("no MissingDependencyError")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    return result.stdout


def run_in_threads(worker: Callable[[int], None], count: int) -> None:
    """Run ``worker(0)`` ... ``worker(count - 1)`` each in its own thread; re-raise a failure."""
    errors: list[BaseException] = []

    def guarded(number: int) -> None:
        try:
            worker(number)
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def example_main(stem: str) -> Callable[[str], Awaitable[Any]]:
    """The ``main(url)`` coroutine function of ``examples/<stem>.py``."""
    path = Path(__file__).resolve().parent.parent / "examples" / f"{stem}.py"
    main: Callable[[str], Awaitable[Any]] = runpy.run_path(str(path), run_name=stem)["main"]
    return main
