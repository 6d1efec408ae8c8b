"""The studio: workflow definitions as program officers edit them — drafts, form edits,
checks beyond syntax, diff, simulation, impact, publishing and migration of running cases."""
