"""The per-service-node PostgreSQL role: created at enrolment, dropped at revoke.

A service node runs the same code as the management node against the same database, so
it needs a login; it gets its own role ``snp_sn_<name>`` with only the privileges its
processes use (boot service, workers, agent), never the portal's owner role. What that
buys is stated plainly in docs/security.md: the role cannot rewrite definitions, users or
the audit trail, nor read sessions or password hashes; it can read every node row
(BMC passwords included: its workers run rpower) and it holds SECRET_KEY (django-q2 signs
task payloads with it), so a service node remains as trusted as the management node.

The policy is data (:data:`POLICY`), keyed by table name; tables that do not exist (yet) are
skipped, and so are columns that do not exist, so an app can list its table or column here
before its migration lands.
"""

from __future__ import annotations

import re
import secrets

from django.db import connection
from psycopg import sql

#: SELECT on the whole table (reads of node, image and routing data).
READ = "select"
#: Privileges per table: "select", "insert", "delete", "update" (whole rows) or
#: "update:<col>,<col>" (only those columns), "select:<col>,…" (only those columns: an ORM
#: ``create()`` needs SELECT on ``id`` for its RETURNING clause).
POLICY: dict[str, tuple[str, ...]] = {
    # Inventory: read all; write only what boots and power change.
    "nodes_node": (
        READ,
        "update:status,statustime,statusdetail,power,powertime,boot_token,boot_version_id,"
        "currstate,osimage_id,boot_tokens,boot_armed_at",
    ),
    "nodes_group": (READ,),
    "nodes_nodegroup": (READ,),
    "nodes_nodeevent": (READ, "insert"),
    "nodes_unknownmac": (READ, "insert", "update:requests,last_seen,uuid,serial,address"),
    # The boot service's per-minute request counters (nodes.boot_limits) on its web.
    "nodes_bootrequestcount": (READ, "insert", "update", "delete"),
    "images_osimage": (READ,),
    "images_imageversion": (READ,),
    "images_distrosource": (READ,),
    # Jobs: the parts routed to this service node update their job row (whole rows: the
    # routing work adds per-part columns).
    "snportal_job": (READ, "update"),
    # Audit: append only, and not even readable (the id is for INSERT … RETURNING).
    "snportal_auditevent": ("select:id", "insert"),
    # Actor names for timeline and audit rows; never password hashes or e-mail addresses.
    "auth_user": ("select:id,username,first_name,last_name,is_active,is_staff,is_superuser",),
    "django_content_type": (READ,),
    "django_migrations": (READ,),
    # django-q2's ORM broker: claim (UPDATE lock), acknowledge (DELETE), enqueue; results.
    "django_q_ormq": (READ, "insert", "update", "delete"),
    "django_q_task": (READ, "insert", "update", "delete"),
    # The scheduler locks its due rows with SELECT … FOR UPDATE and advances next_run.
    "django_q_schedule": (READ, "update:next_run,repeats,task"),
    # Its own liveness, and forwarded syslog.
    "hierarchy_servicenode": (READ, "update:heartbeat,started,version,state"),
    "hierarchy_syslogline": ("select:id", "insert"),
}

_UNSAFE = re.compile(r"[^a-z0-9_]")


def role_name(sn_name: str) -> str:
    """``snp_sn_<name>``, lower case, ``[a-z0-9_]`` only, at most 63 bytes (PostgreSQL's limit)."""
    return ("snp_sn_" + _UNSAFE.sub("_", sn_name.lower()))[:63]


def new_password() -> str:
    return secrets.token_urlsafe(32)


def _columns() -> dict[str, set[str]]:
    """Existing tables of the schema and their columns."""
    out: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        )
        for table, column in cursor.fetchall():
            out.setdefault(table, set()).add(column)
    return out


def _grant_statements(role: str, existing: dict[str, set[str]]) -> list[sql.Composed]:
    """GRANT statements for :data:`POLICY`, skipping tables and columns that do not exist."""
    ident = sql.Identifier(role)
    out: list[sql.Composed] = []
    for table, privileges in POLICY.items():
        if table not in existing:
            continue
        for privilege in privileges:
            verb, _, columns = privilege.partition(":")
            cols = sql.SQL("")
            if columns:
                present = [c for c in columns.split(",") if c in existing[table]]
                if not present:
                    continue
                cols = sql.SQL(" ({})").format(
                    sql.SQL(", ").join(sql.Identifier(c) for c in present)
                )
            out.append(
                sql.SQL("GRANT {verb}{cols} ON TABLE {table} TO {role}").format(
                    verb=sql.SQL(verb.upper()), cols=cols, table=sql.Identifier(table), role=ident
                )
            )
    return out


def ensure(role: str, password: str) -> None:
    """Create the role, or reset its password and grants; end its old sessions.

    Run as the portal's database owner (it needs CREATEROLE). Grants are revoked and
    re-granted each time, so a changed :data:`POLICY` reaches re-enrolled service nodes.
    """
    ident = sql.Identifier(role)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        verb = "ALTER" if cursor.fetchone() else "CREATE"
        cursor.execute(
            sql.SQL(
                "{verb} ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT "
                "NOREPLICATION NOBYPASSRLS PASSWORD {password}"
            ).format(verb=sql.SQL(verb), role=ident, password=sql.Literal(password))
        )
        _terminate(cursor, role)
        cursor.execute(
            sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {role}").format(
                schema=sql.Identifier(_schema(cursor)), role=ident
            )
        )
        cursor.execute(
            sql.SQL("GRANT CONNECT ON DATABASE {db} TO {role}").format(
                db=sql.Identifier(connection.settings_dict["NAME"]), role=ident
            )
        )
        cursor.execute(
            sql.SQL("GRANT USAGE ON SCHEMA {schema} TO {role}").format(
                schema=sql.Identifier(_schema(cursor)), role=ident
            )
        )
        for statement in _grant_statements(role, _columns()):
            cursor.execute(statement)


def drop(role: str) -> bool:
    """Revoke: end the role's sessions and drop it with its grants. False if it did not exist."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cursor.fetchone() is None:
            return False
        _terminate(cursor, role)
        ident = sql.Identifier(role)
        cursor.execute(sql.SQL("DROP OWNED BY {role}").format(role=ident))
        cursor.execute(sql.SQL("DROP ROLE {role}").format(role=ident))
    return True


def _terminate(cursor, role: str) -> None:
    cursor.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", [role]
    )


def _schema(cursor) -> str:
    cursor.execute("SELECT current_schema()")
    return cursor.fetchone()[0]
