"""work orders: a partial index on the orders in no draw yet

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-23 16:20:00

The monthly draw (R-RV-6) finds its population among the orders in no draw yet and
marks each with its draw. The population index held every order with its draw id, so
marking moved each order inside it; the partial index holds the undrawn orders only
(a small share of the table), and marking just takes an order out of it. A draw's
orders are read back (``sampling.reproduce``) through the estate's completion index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_population')
        batch_op.create_index(
            'ix_work_order_undrawn',
            ['estate_id', 'kind', 'completed_at'],
            unique=False,
            sqlite_where=sa.text('draw_id IS NULL'),
            postgresql_where=sa.text('draw_id IS NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_undrawn')
        batch_op.create_index('ix_work_order_population', ['estate_id', 'draw_id', 'kind', 'completed_at'], unique=False)
