"""Signals announcing facts after commit. A receiver that raises is logged and skipped:
it never undoes the commit nor stops the other receivers."""

from __future__ import annotations

import logging
from typing import Any

from blinker import Namespace, Signal

log = logging.getLogger(__name__)
_namespace = Namespace()

#: sender: program slug; kwargs: case (dict as `case show --json`), actor
case_started = _namespace.signal("case-started")
#: sender: program slug; kwargs: case, record (history record dict), actor
transition_fired = _namespace.signal("transition-fired")
#: sender: program slug (None: no such case); kwargs: case_id, trigger, actor, reason (error
#: kind), message, guards
transition_refused = _namespace.signal("transition-refused")
#: sender: program slug; kwargs: case, record (the escalation record), escalate_to
case_escalated = _namespace.signal("case-escalated")
#: sender: program slug; kwargs: version, sha256, actor
definition_published = _namespace.signal("definition-published")


def send(signal: Signal, sender: Any, **kwargs: Any) -> None:
    """Deliver ``signal`` to each receiver, isolating failures."""
    for receiver in list(signal.receivers_for(sender)):
        try:
            receiver(sender, **kwargs)
        except Exception:
            log.exception(
                "receiver %r of signal %s failed", receiver, getattr(signal, "name", signal)
            )


#: sender: program slug; kwargs: event (the definitions-log entry as JSON: kind, actor, at,
#: draft_id, version, details) — every entry: draft created, saved or discarded, version
#: published, cases migrated
definition_event = _namespace.signal("definition-event")
#: sender: program slug; kwargs: to_version, results (one per case), actor, note
cases_migrated = _namespace.signal("cases-migrated")
