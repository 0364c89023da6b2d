from alembic import context

from tixtrace.backoffice.db.tables import metadata
from tixtrace.kernel.db import run_migrations_online

run_migrations_online(context, metadata)
