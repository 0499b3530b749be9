"""Persistence: SQLAlchemy 2.0 typed models, engine/session factory, Alembic migrations."""
