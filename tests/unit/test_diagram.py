"""The workflow diagram is a function of the definition: every state, every transition
except "*" ones, the current state highlighted and the path taken marked."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from engine.diagram import CURRENT, render_svg, workflow_graph
from engine.language import load_definition, parse_definition

PROBEBAYA_FILE = Path(__file__).resolve().parent.parent.parent / "workflows" / "probebaya.yaml"
PROBEBAYA = load_definition(PROBEBAYA_FILE)
PROBEBAYA_TEXT = PROBEBAYA_FILE.read_text(encoding="utf-8")


def test_graph_has_every_state_and_labelled_transitions() -> None:
    source = workflow_graph(PROBEBAYA, "en").source
    for state in PROBEBAYA.states:
        assert re.search(rf'\b{state.name} \[label="?{re.escape(state.label.en)}"?[ \]]', source), (
            state.name
        )
    assert 'draft -> rembug_held [label="Record the rembug warga"' in source
    assert "-> cancelled" not in source  # "*" transitions are not drawn across every state


def test_current_state_is_highlighted_and_the_path_taken_is_marked() -> None:
    source = workflow_graph(
        PROBEBAYA, "id", "submitted", [("draft", "rembug_held"), ("rembug_held", "submitted")]
    ).source
    current_line = next(
        line for line in source.splitlines() if line.strip().startswith("submitted [")
    )
    assert f'fillcolor="{CURRENT}"' in current_line
    assert 'draft -> rembug_held [label="Catat rembug warga" color="#6c757d" penwidth=2]' in source
    assert 'submitted -> verified [label="Verifikasi usulan" color="#adb5bd" penwidth=1]' in source


def test_rendering_gives_svg_or_none_without_graphviz() -> None:
    svg = render_svg(workflow_graph(PROBEBAYA, "id", "draft"))
    if shutil.which("dot") is None:  # the UI then falls back to the plain stepper
        assert svg is None
        return
    assert svg is not None and svg.lstrip().startswith("<?xml")
    assert "<svg" in svg and "Persiapan rembug warga" in svg


def test_a_label_written_as_graphviz_html_cannot_put_a_link_into_the_svg() -> None:
    """Officers write labels; one like <<TABLE>...HREF=...>> must stay text, not become a
    Graphviz HTML label whose HREF turns into an <a xlink:href> in the inlined SVG."""
    if shutil.which("dot") is None:
        return
    hostile = '<<TABLE><TR><TD HREF="javascript:alert(1)">x</TD></TR></TABLE>>'
    text = PROBEBAYA_TEXT.replace(
        'label: {id: "Selesai", en: "Closed"}', "label: '" + hostile + "'"
    )
    svg = render_svg(workflow_graph(parse_definition(text), "en"))
    assert svg is not None
    assert "xlink:href" not in svg and "<a " not in svg
    assert "&lt;&lt;TABLE&gt;" in svg
