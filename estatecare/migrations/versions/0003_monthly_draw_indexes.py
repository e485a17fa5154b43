"""monthly draw index: revisits by sample item

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 13:40:00

Reading a draw's revisits (R-RV-6) and the foreign-key check when a sample item is
removed look revisits up by their sample item. (Work orders are found by draw through
the existing population index, whose prefix is estate and draw: a second index on the
draw would slow down marking a month's population.)
"""

from __future__ import annotations

from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('revisit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revisit_sample_item_id'), ['sample_item_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('revisit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revisit_sample_item_id'))
