"""The education service's append-only audit log: every write, who, when, before and after."""

from education.models import audit_table
from kit.audit import AuditLog

audit = AuditLog(audit_table)
