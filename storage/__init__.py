"""The only place that talks SQL: SQLModel tables, repository functions, Alembic migrations."""
