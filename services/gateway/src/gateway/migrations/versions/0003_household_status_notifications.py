"""household_status tells listeners which household changed

Each process of the gateway keeps rendered status documents in memory
(``gateway.status.cache``); this trigger is how every process, whichever one applied the
event, learns at commit that a copy is out of date. A trigger rather than a call in the
handlers, so that nothing that writes the table (a rebuild's TRUNCATE, a manual fix) can
leave a stale copy behind.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 21:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "household_status_changed"


def upgrade() -> None:
    # NOTIFY is delivered at commit, once per distinct payload in a transaction.
    op.execute(
        f"""
        CREATE FUNCTION notify_household_status_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'TRUNCATE' THEN
                PERFORM pg_notify('{CHANNEL}', '*');
            ELSIF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('{CHANNEL}', OLD.household_id::text);
            ELSE
                PERFORM pg_notify('{CHANNEL}', NEW.household_id::text);
            END IF;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER household_status_changed AFTER INSERT OR UPDATE OR DELETE "
        "ON household_status FOR EACH ROW EXECUTE FUNCTION notify_household_status_changed()"
    )
    op.execute(
        "CREATE TRIGGER household_status_truncated AFTER TRUNCATE ON household_status "
        "FOR EACH STATEMENT EXECUTE FUNCTION notify_household_status_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER household_status_truncated ON household_status")
    op.execute("DROP TRIGGER household_status_changed ON household_status")
    op.execute("DROP FUNCTION notify_household_status_changed()")
