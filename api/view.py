"""A small, self-contained HTML page that draws one research tree: the question, the
answer, and nested boxes for vertices (relation and evidence sentence for hidden
entities, the blurred text with its counts and provenance for constraints)."""

from __future__ import annotations

from html import escape

from synth.model import Tree, Vertex

CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:24px;color:#1d2433;background:#f7f8fa}
h1{font-size:18px;margin:0 0 4px} .q{font-size:17px;background:#fff;border-left:4px solid #3563e9;
padding:12px 16px;margin:12px 0}
.meta{color:#5b6478;font-size:13px} .ans{color:#0a7a3d;font-weight:600}
ul.tree{list-style:none;padding-left:22px;border-left:2px solid #c9d1e3;margin:6px 0}
ul.tree.root{border:none;padding-left:0}
li{margin:6px 0} .box{display:inline-block;background:#fff;border:1px solid #d5dbe8;
border-radius:6px;padding:6px 10px;max-width:900px}
.entity{border-color:#3563e9} .constraint{border-color:#b7791f;background:#fffaf0}
.rel{font-size:12px;color:#3563e9;font-weight:600;text-transform:uppercase}
.ev{font-size:12px;color:#5b6478;font-style:italic} .n{font-size:12px;color:#5b6478}
.ok{color:#0a7a3d} .bad{color:#b42318}
"""


def _vertex(tree: Tree, v: Vertex) -> str:
    checks = tree.checks
    if v.kind == "entity":
        n = checks.get("vertex_matches", {}).get(str(v.id))
        head = ""
        if v.relation is not None:
            r = v.relation
            head = (f'<div class="rel">{escape(r.rel)} {escape(r.key or "")} '
                    f'({"parent → child" if r.direction == "out" else "child → parent"})</div>')
        body = (f'{head}<b>{escape(v.entity or "")}</b> <span class="n">'
                f'{escape(v.noun or "")}; matches given its children: {n}</span>')
        if v.relation is not None and v.relation.sentence:
            body += f'<div class="ev">“{escape(v.relation.sentence)}”</div>'
        cls = "entity"
    else:
        c = v.constraint
        assert c is not None
        alone = checks.get("constraint_alone", {}).get(str(v.id))
        prov = ", ".join(f"{escape(k)}: {escape(str(val))}" for k, val in c.provenance.items()
                         if k != "sentence")
        body = (f'{escape(c.text)} <span class="n">(alone: {alone}; {escape(c.kind)})</span>'
                f'<div class="ev">{prov}</div>')
        if c.provenance.get("sentence"):
            body += f'<div class="ev">“{escape(str(c.provenance["sentence"]))}”</div>'
        cls = "constraint"
    kids = tree.children(v.id)
    inner = "".join(f"<li>{_vertex(tree, k)}</li>" for k in kids)
    sub = f'<ul class="tree">{inner}</ul>' if kids else ""
    return f'<div class="box {cls}" id="v{v.id}">{body}</div>{sub}'


def render_html(tree: Tree) -> str:
    """The whole page for ``tree``."""
    ok = tree.checks.get("ok") and tree.solver.get("agreed")
    status = ('<span class="ok">all checks passed; the solver agrees</span>' if ok
              else '<span class="bad">checks failed</span>')
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Research tree {escape(tree.id)}</title>
<style>{CSS}</style></head><body>
<h1>Research tree {escape(tree.id)}</h1>
<div class="meta">N = {tree.n_vertices} · shape {escape(tree.shape)} · seed {tree.seed} ·
graph {escape(tree.graph_fingerprint)} · {status}</div>
<div class="q" id="question">{escape(tree.question)}</div>
<div class="meta">answer: <span class="ans" id="answer">{escape(tree.answer)}</span>
{("· aliases: " + escape(", ".join(tree.aliases))) if tree.aliases else ""}</div>
<ul class="tree root"><li>{_vertex(tree, tree.root)}</li></ul>
</body></html>"""
