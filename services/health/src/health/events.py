"""The health service's outbox: its events are staged in the transaction that changes its
records, and published after the commit."""

from health.models import outbox_table
from kit.outbox import Outbox

outbox = Outbox(outbox_table, service="health")
