"""Alembic environment and revisions of the bits-emulator job store (installed as emulator.migrations)."""
