"""The PostgreSQL store (psycopg 3), for a team's tracker shared by many processes. Needs the postgres extra."""

from tickets_mcp.stores.postgres.store import PostgresStore

__all__ = ["PostgresStore"]
