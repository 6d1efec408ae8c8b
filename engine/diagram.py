"""The workflow as a Graphviz diagram: states, transitions, the current state highlighted
and the path a case took marked. A function of the definition model; rendering needs the
`dot` program (Debian package graphviz) and returns None where it is missing."""

from __future__ import annotations

from collections.abc import Iterable

import graphviz

from engine.language import Definition

CURRENT = "#0d6efd"
#: Larger workflows are not drawn (callers show a plain list): Graphviz's layout time grows
#: fast with size, and the studio draws every draft an officer types.
MAX_DRAWN_STATES = 300
MAX_DRAWN_EDGES = 1200
VISITED = "#6c757d"


def workflow_graph(
    definition: Definition,
    lang: str = "id",
    current: str | None = None,
    taken: Iterable[tuple[str, str]] = (),
    rankdir: str = "LR",
) -> graphviz.Digraph:
    """The definition's graph; ``taken`` are (source, dest) pairs the case went along;
    ``rankdir`` TB draws it top to bottom (for a narrow column, as in the studio)."""
    walked = set(taken)
    visited = {state for pair in walked for state in pair}
    graph = graphviz.Digraph(
        definition.program, graph_attr={"rankdir": rankdir, "fontname": "sans-serif"}
    )
    graph.attr(
        "node",
        shape="box",
        style="rounded,filled",
        fillcolor="white",
        fontname="sans-serif",
        fontsize="11",
    )
    graph.attr("edge", fontname="sans-serif", fontsize="9", color="#adb5bd")
    for state in definition.states:
        # nohtml: a label written as <...> must not become a Graphviz HTML label (whose HREF
        # attributes would put links, e.g. javascript:, into the SVG the pages inline)
        attributes = {
            "label": graphviz.nohtml(state.label.get(lang)),
            "peripheries": "2" if state.final else "1",
        }
        if state.name == current:
            attributes.update(fillcolor=CURRENT, fontcolor="white", color=CURRENT)
        elif state.name in visited:
            attributes.update(fillcolor="#e9ecef", color=VISITED)
        graph.node(state.name, **attributes)
    for transition in definition.transitions:
        if transition.any_source:
            continue  # "*" transitions (cancel) would cross every state; they are listed instead
        for source in transition.sources:
            done = (source, transition.dest) in walked
            graph.edge(
                source,
                transition.dest,
                label=graphviz.nohtml(transition.label.get(lang)),
                color=VISITED if done else "#adb5bd",
                penwidth="2" if done else "1",
            )
    return graph


def render_svg(graph: graphviz.Digraph) -> str | None:
    """SVG text, or None when Graphviz is not installed or the graph is too big to draw
    (callers show a plain list)."""
    if len(graph.body) > MAX_DRAWN_STATES + MAX_DRAWN_EDGES:
        return None
    try:
        return graph.pipe(format="svg", encoding="utf-8")
    except (graphviz.ExecutableNotFound, graphviz.CalledProcessError):
        return None
