"""The PostgreSQL backend (asyncpg), selected by DATABASE_URL=postgresql://…"""

from bot.storage.postgres.database import PgDatabase, PgTransaction

__all__ = ["PgDatabase", "PgTransaction"]
