"""work order history

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 00:32:10

work_order_event: a job's append-only history (R-RC-1), one row per step (request, dispatch,
reassignment, arrival, completion, revisit outcome, reopening, closing) with who took it, when,
from which status to which, the technician the job is with after it, a note and the step's facts.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('work_order_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('work_order_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.Enum('request', 'dispatch', 'reassign', 'arrive', 'complete', 'revisit', 'reopen', 'close', 'overdue', name='workorderaction', native_enum=False, length=40), nullable=False),
    sa.Column('from_status', sa.Enum('requested', 'dispatched', 'arrived', 'completed', 'closed', name='workorderstatus', native_enum=False, length=40), nullable=True),
    sa.Column('to_status', sa.Enum('requested', 'dispatched', 'arrived', 'completed', 'closed', name='workorderstatus', native_enum=False, length=40), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['staff.id'], name=op.f('fk_work_order_event_actor_id_staff')),
    sa.ForeignKeyConstraint(['technician_id'], ['staff.id'], name=op.f('fk_work_order_event_technician_id_staff')),
    sa.ForeignKeyConstraint(['work_order_id'], ['work_order.id'], name=op.f('fk_work_order_event_work_order_id_work_order')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_order_event')),
    sa.UniqueConstraint('work_order_id', 'seq', name=op.f('uq_work_order_event_work_order_id'))
    )
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.create_index('ix_work_order_status_on_site_due', ['status', 'on_site_due_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_status_on_site_due')
    op.drop_table('work_order_event')
