"""The refiner: condenses each query's top passages into a few short evidence notes
that keep their page titles, so the agent's context stays small.

- :class:`ExtractiveRefiner` (default, no model): from each hit, the sentences that
  share the most words with the query and the question.
- :class:`ModelRefiner`: a chat model writes the notes (one call a query, in parallel);
  a query whose reply has no usable note falls back to the extractive notes.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from agent.search import Hit, tokenize
from hcsp.chat import ChatModel, ModelError
from ingest.wikitext import split_sentences


class Refiner(Protocol):
    name: str

    def refine(self, question: str, queries: list[str], results: list[list[Hit]]
               ) -> list[list[str]]: ...


class ExtractiveRefiner:
    """Up to ``sentences`` best-matching sentences of each of the top ``hits`` passages.

    >>> r = ExtractiveRefiner(sentences=1)
    >>> h = Hit("Riga", "Riga is a city. It lies on the Daugava river. It is old.", 1.0, 0)
    >>> r.refine("Which river is it on?", ["Riga river"], [[h]])
    [['[Riga] It lies on the Daugava river.']]
    """

    name = "extractive"

    def __init__(self, sentences: int = 2, hits: int = 3) -> None:
        self.sentences = sentences
        self.hits = hits

    def notes(self, question: str, query: str, hits: list[Hit]) -> list[str]:
        want = set(tokenize(query)) | set(tokenize(question))
        out = []
        for h in hits[:self.hits]:
            sents = split_sentences(h.text) or [h.text]
            ranked = sorted(range(len(sents)),
                            key=lambda i: (-len(want & set(tokenize(sents[i]))), i))
            keep = sorted(ranked[:self.sentences])
            out.append(f"[{h.title}] " + " ".join(sents[i] for i in keep))
        return out

    def refine(self, question: str, queries: list[str], results: list[list[Hit]]
               ) -> list[list[str]]:
        return [self.notes(question, q, hits) for q, hits in zip(queries, results, strict=True)]


PROMPT = ("Question: {question}\nSearch query: {query}\n\nPassages:\n{passages}\n\n"
          "Write at most {n} short notes with the facts from these passages that help answer "
          "the question. Begin each note with its page title in square brackets, like "
          "[Title] fact. Reply with the notes only, one a line.")


class ModelRefiner:
    """Notes written by a chat model, one call per query, run in parallel."""

    def __init__(self, model: ChatModel, notes: int = 3, hits: int = 3,
                 max_tokens: int = 200, workers: int = 4) -> None:
        self.model = model
        self.name = f"model:{model.name}"
        self.n = notes
        self.hits = hits
        self.max_tokens = max_tokens
        self.workers = workers
        self.fallback = ExtractiveRefiner(hits=hits)

    def _one(self, question: str, query: str, hits: list[Hit]) -> list[str]:
        if not hits:
            return []
        passages = "\n".join(f"[{h.title}] {h.text}" for h in hits[:self.hits])
        try:
            reply = self.model.complete([{"role": "user", "content": PROMPT.format(
                question=question, query=query, passages=passages, n=self.n)}],
                max_tokens=self.max_tokens, temperature=0.0)
        except ModelError:
            reply = ""
        titles = {h.title for h in hits}
        notes = [line.strip().lstrip("-* ").strip() for line in reply.splitlines()]
        notes = [n for n in notes if n.startswith("[") and n[1:].split("]", 1)[0] in titles]
        return notes[:self.n] or self.fallback.notes(question, query, hits)

    def refine(self, question: str, queries: list[str], results: list[list[Hit]]
               ) -> list[list[str]]:
        with ThreadPoolExecutor(min(self.workers, max(1, len(queries)))) as pool:
            return list(pool.map(lambda qh: self._one(question, *qh),
                                 zip(queries, results, strict=True)))
