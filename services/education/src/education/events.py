"""The education service's outbox and its one write path: every change of its records is
recorded by ``changes`` (version, event, audit entry) in the transaction that makes it,
and its events are published after the commit.

Say once per kind of record how the audit log views it and how its events carry it, then
record each change in one statement::

    item_changes = changes.of(view=_audit_view, data=_event)

    await item_changes.created(session, item, ITEM_ADDED, actor=actor)
    async with item_changes.change(session, item, ITEM_CLOSED, actor=actor):
        item.status = CLOSED

(``changes.record(session, record, EVENT, data, actor=actor, before=..., after=...)`` is
the call underneath, for a change of another shape.)"""

from education.audit import audit
from education.models import outbox_table
from kit.changes import Changes
from kit.outbox import Outbox

outbox = Outbox(outbox_table, service="education")
changes = Changes(outbox, audit)
