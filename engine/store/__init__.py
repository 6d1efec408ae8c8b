"""Persistence: SQLAlchemy models, database set-up, Alembic migrations, the history chain,
and content-addressed document storage."""
