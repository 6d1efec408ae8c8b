"""Reading the history for auditors and oversight: figures, replay, verification, export.
Nothing here writes a case or its history."""
