"""posting tables: on PostgreSQL, check the references of bulk-loaded rows per statement instead of per row

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:00:00

A declared foreign key checks each inserted row on its own (a lookup and a row lock on the parent): loading
a million service lines spent two thirds of its time there. On PostgreSQL these six foreign keys become
statement-level triggers that check all the rows of one INSERT, COPY or UPDATE in a single anti-join, and
parent-side triggers that refuse to delete, re-key or truncate a row still referenced, as NO ACTION does.
SQLite keeps the declared foreign keys: their in-process lookup costs about a quarter of the insert time, and
SQLite has only row-level triggers, which cost more. See docs/warehouse.md.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# (child table, column, parent table): the parent column is always ``id``.
CHECKED_REFERENCES = (
    ("remittance_claim", "remittance_id", "remittance"),
    ("remittance_service", "remittance_claim_id", "remittance_claim"),
    ("adjustment", "remittance_claim_id", "remittance_claim"),
    ("adjustment", "remittance_service_id", "remittance_service"),
    ("remark", "remittance_claim_id", "remittance_claim"),
    ("remark", "remittance_service_id", "remittance_service"),
)

# The new rows' references lie in one narrow id range (a load reserves consecutive ids): bounding the parent
# probe by it keeps the check proportional to the load, not to the size of the parent table.
CHILD_CHECK = r"""
CREATE FUNCTION revcycle_check_references() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    low bigint;
    high bigint;
    missing bigint;
BEGIN
    EXECUTE format('SELECT min(%1$I), max(%1$I) FROM new_rows', TG_ARGV[0]) INTO low, high;
    IF low IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format(
        'SELECT count(*) FROM new_rows n WHERE n.%1$I IS NOT NULL AND NOT EXISTS '
        '(SELECT 1 FROM %2$I.%3$I p WHERE p.id = n.%1$I AND p.id BETWEEN $1 AND $2)',
        TG_ARGV[0], TG_TABLE_SCHEMA, TG_ARGV[1]
    ) INTO missing USING low, high;
    IF missing > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format('%s rows of %s name a %s.id that does not exist (%s)',
                             missing, TG_TABLE_NAME, TG_ARGV[1], TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$body$
"""

PARENT_CHECK = r"""
CREATE FUNCTION revcycle_check_referenced() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    orphans bigint;
BEGIN
    EXECUTE format(
        'SELECT count(*) FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM %1$I.%2$I p WHERE p.id = o.id) '
        'AND EXISTS (SELECT 1 FROM %1$I.%3$I c WHERE c.%4$I = o.id)',
        TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]
    ) INTO orphans;
    IF orphans > 0 THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format('%s rows of %s are still referenced by %s.%s', orphans, TG_TABLE_NAME,
                             TG_ARGV[0], TG_ARGV[1]);
    END IF;
    RETURN NULL;
END
$body$
"""

# TRUNCATE fires no row or transition trigger: a parent may be truncated only when the child is empty too.
TRUNCATE_CHECK = r"""
CREATE FUNCTION revcycle_check_truncate() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    referenced boolean;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %1$I.%2$I)', TG_TABLE_SCHEMA, TG_ARGV[0]) INTO referenced;
    IF referenced THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format('%s is referenced by the rows of %s', TG_TABLE_NAME, TG_ARGV[0]);
    END IF;
    RETURN NULL;
END
$body$
"""


def _fk_name(child: str, column: str, parent: str) -> str:
    return f"fk_{child}_{column}_{parent}"


def _trigger(child: str, column: str, suffix: str) -> str:
    return f"ref_{child}_{column}_{suffix}"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(CHILD_CHECK)
    op.execute(PARENT_CHECK)
    op.execute(TRUNCATE_CHECK)
    for child, column, parent in CHECKED_REFERENCES:
        op.drop_constraint(_fk_name(child, column, parent), child, type_="foreignkey")
        # Transition tables allow one event per trigger: INSERT (COPY too) and UPDATE each get their own.
        for event in ("INSERT", "UPDATE"):
            op.execute(
                f"CREATE TRIGGER {_trigger(child, column, event.lower())} AFTER {event} ON {child} "
                "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION revcycle_check_references('{column}', '{parent}')"
            )
        for event, suffix in (("DELETE", "parent_delete"), ("UPDATE", "parent_update")):
            op.execute(
                f"CREATE TRIGGER {_trigger(child, column, suffix)} AFTER {event} ON {parent} "
                "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
                f"EXECUTE FUNCTION revcycle_check_referenced('{child}', '{column}')"
            )
        op.execute(
            f"CREATE TRIGGER {_trigger(child, column, 'parent_truncate')} BEFORE TRUNCATE ON {parent} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION revcycle_check_truncate('{child}')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for child, column, parent in CHECKED_REFERENCES:
        for suffix in ("insert", "update"):
            op.execute(f"DROP TRIGGER {_trigger(child, column, suffix)} ON {child}")
        for suffix in ("parent_delete", "parent_update", "parent_truncate"):
            op.execute(f"DROP TRIGGER {_trigger(child, column, suffix)} ON {parent}")
        op.create_foreign_key(_fk_name(child, column, parent), child, parent, [column], ["id"])
    op.execute("DROP FUNCTION revcycle_check_truncate()")
    op.execute("DROP FUNCTION revcycle_check_referenced()")
    op.execute("DROP FUNCTION revcycle_check_references()")
