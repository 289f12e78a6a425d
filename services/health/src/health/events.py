"""The health service's outbox and its one write path: every change of its records is
recorded by ``changes`` (version, event, audit entry) in the transaction that makes it, and
its events are published after the commit."""

from health.audit import audit
from health.models import outbox_table
from kit.changes import Changes
from kit.outbox import Outbox

outbox = Outbox(outbox_table, service="health")
changes = Changes(outbox, audit)
