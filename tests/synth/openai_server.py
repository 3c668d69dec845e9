"""A real OpenAI-compatible HTTP server on loopback that stands in for a paid writer and
judge (none can run here): it records every request it gets and answers the way a
careful model would, from the prompt alone.

- the writer's prompt: a question made of every clue's words, and those words per clue
  (a relation to state from its sentence said as one: "shares a history with");
- the judge's prompt (does the question state each clue?): every clue confirmed;
- the difficulty judge's prompts: "Riga" (it does not know).

With ``fail_first``, each call's first request gets 503 (as an overloaded server
answers), so the SDK retries it once. Usage is reported (whitespace-separated words as
tokens). ``GET /stats`` gives the counts.

    python -m tests.synth.openai_server --port 8765 [--fail-first]   # by hand
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CLUE = re.compile(r"^- (\S+): \[E\d+\] \([^)]*\) (.+)$", re.M)


def role_of(prompt: str) -> str:
    if prompt.startswith("You write one research question"):
        return "writer"
    if prompt.startswith("A question was written from verified clues"):
        return "judge"
    if prompt.startswith("Answer the question with the name"):
        return "scorer"
    return "other"


def _clues(prompt: str) -> list[tuple[str, str]]:
    block = prompt.split("Clues:\n", 1)[-1].split("\n\n", 1)[0]
    return CLUE.findall(block)


def _stated(words: str, states: bool) -> str:
    """A clue's words as the question says them: another hidden thing by its kind ("[E1]
    (city)" -> "a city"); a clue the writer is to state from its sentence ("... is
    related to [E1] (say how, ...)") said as a relation (``states``), or echoed as it
    came (a writer that did not do it)."""
    words = re.sub(r"\[E\d+\] \(([^)]*)\)", r"a \1", words)
    if not states or "(say how" not in words:
        return words
    return words.split(" (say how", 1)[0].replace("is related to", "shares a history with")


def reply_to(prompt: str, states: bool = True) -> str:
    """What this stand-in answers to a prompt."""
    role = role_of(prompt)
    clues = [(cid, _stated(w, states)) for cid, w in _clues(prompt)]
    if role == "writer":
        question = "Which one is it: " + "; ".join(w for _, w in clues) + "?"
        return json.dumps({"question": question,
                           "clues": [{"id": cid, "words": w} for cid, w in clues]})
    if role == "judge":
        return json.dumps(dict.fromkeys((cid for cid, _ in clues), True))
    return "Riga"


class Recorder:
    """What the server got: one entry per HTTP request."""

    def __init__(self, fail_first: bool = False, states: bool = True) -> None:
        self.fail_first = fail_first
        self.states = states
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []

    def calls(self, role: str) -> list[dict[str, Any]]:
        """The answered requests of a role (one per call: a 503 is not an answer)."""
        with self.lock:
            return [r for r in self.requests if r["role"] == role and r["status"] == 200]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": dict(Counter(r["role"] for r in self.requests)),
                    "answered": dict(Counter(r["role"] for r in self.requests
                                             if r["status"] == 200)),
                    "distinct_prompts": len({r["prompt"] for r in self.requests}),
                    "prompt_tokens": sum(r.get("prompt_tokens", 0) for r in self.requests)}


def _handler(rec: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any], **headers: str) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers.items():
                self.send_header(k.replace("_", "-"), v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._send(200, rec.stats())

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            prompt = body["messages"][-1]["content"]
            entry = {"role": role_of(prompt), "prompt": prompt,
                     "retry": int(self.headers.get("x-stainless-retry-count", "0"))}
            if rec.fail_first and entry["retry"] == 0:
                entry["status"] = 503
                with rec.lock:
                    rec.requests.append(entry)
                self._send(503, {"error": {"message": "overloaded"}}, retry_after_ms="1")
                return
            text = reply_to(prompt, rec.states)
            usage = {"prompt_tokens": len(prompt.split()),
                     "completion_tokens": len(text.split())}
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            entry.update(status=200, prompt_tokens=usage["prompt_tokens"])
            with rec.lock:
                rec.requests.append(entry)
            self._send(200, {"id": "chatcmpl-local", "object": "chat.completion",
                             "created": 0, "model": body["model"], "usage": usage,
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant",
                                                      "content": text}}]})

    return Handler


@contextlib.contextmanager
def openai_server(fail_first: bool = False, port: int = 0, states: bool = True
                  ) -> Iterator[tuple[str, Recorder]]:
    """The server in a thread on 127.0.0.1; yields its base URL and its recorder.
    ``states=False``: a writer that echoes relations it was to state from a sentence."""
    rec = Recorder(fail_first, states)
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(rec))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", rec
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--fail-first", action="store_true", help="503 on each call's first try")
    args = ap.parse_args()
    with openai_server(args.fail_first, args.port) as (url, rec):
        print(f"serving on {url} (GET /stats for counts; Ctrl-C stops)", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        print(json.dumps(rec.stats()), flush=True)


if __name__ == "__main__":
    main()
