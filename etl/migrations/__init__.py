"""Alembic migrations of the state store; `StateStore` upgrades a store to head when it opens it."""
