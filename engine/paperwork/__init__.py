"""Official paperwork generated from a case: document templates (HTML with Jinja in a
sandbox), checked when a definition is validated and rendered to PDF in a bounded child
process when a transition that generates them fires."""
