"""The registry's append-only audit log: every write, who, when, before and after."""

from kit.audit import AuditLog
from registry.models import audit_table

audit = AuditLog(audit_table)
