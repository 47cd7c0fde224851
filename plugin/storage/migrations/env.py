"""Alembic environment for the store's schema: run on the connection `plugin.storage.migrate` hands over.

`cpt-plugin db upgrade` is the way to run it (it takes the lock that keeps two instances from
migrating at once); `alembic` itself is not needed on the command line.
"""

from __future__ import annotations

from alembic import context

from plugin.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
