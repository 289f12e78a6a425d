"""The health service's append-only audit log: every write, who, when, before and after."""

from health.models import audit_table
from kit.audit import AuditLog

audit = AuditLog(audit_table)
