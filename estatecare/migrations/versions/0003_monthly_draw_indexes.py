"""monthly draw indexes: work orders by draw, revisits by sample item

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:40:00

Reading a draw's population (audit, R-RV-6) and its revisits, and the foreign-key
checks when a draw or a sample item is removed, look rows up by these columns.
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_work_order_draw_id'), ['draw_id'], unique=False)
    with op.batch_alter_table('revisit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revisit_sample_item_id'), ['sample_item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('revisit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revisit_sample_item_id'))
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_work_order_draw_id'))
