"""The job store: SQLAlchemy schema, Alembic-managed file stores, and the write-through repository."""
