from alembic import context

from tixtrace.kernel.db import run_migrations_online
from tixtrace.wallet.db.tables import metadata

run_migrations_online(context, metadata)
