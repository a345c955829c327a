"""Alembic migrations, packaged with ``storage`` so an installed kpibot can upgrade anywhere."""
