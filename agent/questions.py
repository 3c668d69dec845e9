"""Question sets for the agent: exported HCSP JSONL, public QA files in the common
``{question, answer}`` JSONL format, or the API (stored questions, generated on demand
when the pool is short). The agent never reads the graph."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agent.errors import AgentError


@dataclass
class Question:
    """One question with its gold answer and, for HCSP questions, its evidence pages."""

    id: str
    question: str
    answer: str
    aliases: list[str] = field(default_factory=list)
    evidence_pages: list[str] = field(default_factory=list)
    n_vertices: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def evidence_pages(record: dict[str, Any]) -> list[str]:
    """The pages an HCSP record's evidence comes from (first-seen order).

    >>> evidence_pages({"evidence": [{"page": "A", "target": "B"}, {"page": "C"}, {"page": "A"}]})
    ['A', 'C']
    """
    pages: list[str] = []
    for ev in record.get("evidence") or []:
        p = ev.get("page") if isinstance(ev, dict) else None
        if p and p not in pages:
            pages.append(p)
    return pages


def from_record(record: Any, where: str) -> Question:
    """A Question from one JSON record; AgentError naming ``where`` if it has no
    question or no answer.

    >>> from_record({"question": "Q?", "answer": ["Riga", "Rīga"]}, "x").aliases
    ['Rīga']
    """
    if not isinstance(record, dict):
        raise AgentError(f"{where}: expected a JSON object, got {type(record).__name__}")
    q = record.get("question")
    a = record.get("answer", record.get("answers"))
    aliases = list(record.get("aliases") or [])
    if isinstance(a, list):
        a, aliases = (a[0] if a else None), [*a[1:], *aliases]
    if not isinstance(q, str) or not q.strip():
        raise AgentError(f"{where}: no question", hint='each line needs "question": "..."')
    if not isinstance(a, str) or not a.strip():
        raise AgentError(f"{where}: no answer to {q[:60]!r}",
                         hint='each line needs "answer": "..." (or a list of accepted answers)')
    qid = str(record.get("id") or hashlib.sha1(q.encode()).hexdigest()[:16])
    return Question(qid, q.strip(), a.strip(), [str(x) for x in aliases if x],
                    evidence_pages(record), record.get("n_vertices"))


def read_jsonl(path: Path, limit: int | None = None) -> list[Question]:
    """Questions from a JSONL file; every bad line is reported before any work starts."""
    if not path.exists():
        raise AgentError(f"no question file {path}",
                         hint="export questions with `hcsp tree export` or pass a "
                         "{question, answer} JSONL file")
    out: list[Question] = []
    bad: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(from_record(json.loads(line), f"{path}:{n}"))
            except json.JSONDecodeError as e:
                bad.append(f"{path}:{n}: not JSON ({e.msg})")
            except AgentError as e:
                bad.append(e.message)
            if limit is not None and len(out) >= limit and not bad:
                break
    if bad:
        more = f" (and {len(bad) - 3} more)" if len(bad) > 3 else ""
        raise AgentError(f"{len(bad)} bad question lines: " + "; ".join(bad[:3]) + more,
                         hint="fix or drop those lines; nothing was run")
    if not out:
        raise AgentError(f"{path} holds no questions", hint="pass a non-empty JSONL file")
    return out


def from_api(url: str, count: int, *, vertices: int | None = None,
             min_difficulty: float | None = None, generate: bool = True,
             token: str | None = None, seed: int = 0) -> list[Question]:
    """``count`` stored questions from the API (filters as GET /v1/questions/stream);
    when the pool is short and ``generate``, the rest are generated (POST /v1/questions,
    full records in the same answer)."""
    from api.client import HcspClient

    out: list[Question] = []
    with HcspClient(url, token=token) as client:
        for rec in client.stream_questions(vertices=vertices, min_difficulty=min_difficulty):
            out.append(from_record(rec, f"{url} question {rec.get('id')}"))
            if len(out) >= count:
                return out
        seen = {q.id for q in out}
        while generate and len(out) < count:
            # in requests of at most 50 (the API caps one request; generation has a deadline)
            items = client.request_questions(vertices=vertices or 6,
                                             count=min(50, count - len(out)), seed=seed,
                                             from_pool=False, full=True)
            new = [i for i in items if i["id"] not in seen]
            if not new:
                break  # the graph yields no more distinct questions for these settings
            for item in new:
                seen.add(item["id"])
                out.append(from_record(item["record"], f"{url} {item['id']}"))
            seed += 1
    if not out:
        raise AgentError(f"the API at {url} has no questions matching the filters",
                         hint="generate some: POST /v1/questions or `hcsp synth --store`")
    return out[:count]


def load_questions(source: str, limit: int | None = None, **api: Any) -> list[Question]:
    """A JSONL path or an API URL."""
    if source.startswith(("http://", "https://")):
        return from_api(source, limit or 100, **api)
    return read_jsonl(Path(source), limit)
