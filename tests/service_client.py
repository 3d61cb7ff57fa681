"""The Keras worker process (``python -m resect.core.keras_backend.service``) driven over its pipes
as the app drives it: one client for every test of the worker protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Server:
    """One service process; ``request`` sends a request and returns its id, ``events``
    collects that request's events, ``ask`` does both."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "resect.core.keras_backend.service"],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.next_id = 1

    def send(self, obj: dict[str, Any]) -> int:
        self.process.stdin.write(json.dumps(obj) + "\n")
        self.process.stdin.flush()
        return int(obj.get("id", 0))

    def request(self, op: str, **payload: Any) -> int:
        """Send a request with a fresh id; its id."""
        request_id = self.next_id
        self.next_id += 1
        return self.send({"id": request_id, "op": op, **payload})

    def events(self, request_id: int) -> list[dict[str, Any]]:
        """Every event of ``request_id`` up to and including its final one."""
        seen = []
        while True:
            line = self.process.stdout.readline()
            assert line, "the service closed its stdout"
            event = json.loads(line)  # nothing but protocol lines on stdout
            if event.get("id") == request_id:
                seen.append(event)
                if event["event"] != "progress":
                    return seen

    def ask(self, op: str, **payload: Any) -> list[dict[str, Any]]:
        return self.events(self.request(op, **payload))


def running_server() -> Iterator[Server]:
    """A module fixture's body: a server that has imported TensorFlow before any request,
    closed by EOF (= quit) and required to exit cleanly."""
    server = Server()
    first = json.loads(server.process.stdout.readline())
    assert first == {"event": "ready"}
    yield server
    server.process.stdin.close()
    assert server.process.wait(timeout=60) == 0
