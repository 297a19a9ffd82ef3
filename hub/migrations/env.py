from alembic import context

from hub.db import make_engine, writing
from hub.models import Base

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url"))
# With the write lock (hub.db.writing): processes starting together on one database (a hub
# and `roshni provision`) migrate one after the other, and the second, reading the version
# only once it holds the lock, finds nothing left to do. Every migration runs in this one
# transaction (PostgreSQL and SQLite both change schemas transactionally).
with writing(engine) as connection:
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
