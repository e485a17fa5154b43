"""live work orders: repair and service requests

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 00:19:09

work_order becomes a live job: its status (every existing row, a job registered as finished,
is ``completed``), channel, trade, urgency, the resident's contact, the booked time and the
on-site deadline, dispatch and arrival times, the work done, materials and charge, the
resident's sign-off (signature or refusal note) and an optimistic-lock version; an index for
a technician's open jobs.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.Enum('requested', 'dispatched', 'arrived', 'completed', 'closed', name='workorderstatus', native_enum=False, length=40), server_default='completed', nullable=False))
        batch_op.add_column(sa.Column('channel', sa.Enum('phone', 'email', 'front_desk', 'online', 'letter', 'superior_body', 'patrol', 'revisit', name='channel', native_enum=False, length=40), nullable=True))
        batch_op.add_column(sa.Column('trade', sa.Enum('water', 'electrical', 'doors_windows', 'lifts', 'cleaning', 'renovation_application', 'renovation_completion', 'other', name='trade', native_enum=False, length=40), nullable=True))
        batch_op.add_column(sa.Column('urgency', sa.Enum('urgent', 'normal', name='urgency', native_enum=False, length=40), server_default='normal', nullable=False))
        batch_op.add_column(sa.Column('contact_name', sa.String(length=200), server_default='', nullable=False))
        batch_op.add_column(sa.Column('contact_phone', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=320), server_default='', nullable=False))
        batch_op.add_column(sa.Column('locale', sa.Enum('zh-Hant', 'zh-Hans', 'en', name='locale', native_enum=False, length=40), server_default='zh-Hant', nullable=False))
        batch_op.add_column(sa.Column('preferred_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('on_site_due_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('dispatched_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('arrived_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('work_done', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('materials', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('charge_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('signature_png', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('refusal_note', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
        batch_op.create_index('ix_work_order_handler_status', ['handler_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_order', schema=None) as batch_op:
        batch_op.drop_index('ix_work_order_handler_status')
        batch_op.drop_column('version')
        batch_op.drop_column('refusal_note')
        batch_op.drop_column('signature_png')
        batch_op.drop_column('charge_cents')
        batch_op.drop_column('materials')
        batch_op.drop_column('work_done')
        batch_op.drop_column('arrived_at')
        batch_op.drop_column('dispatched_at')
        batch_op.drop_column('on_site_due_at')
        batch_op.drop_column('preferred_at')
        batch_op.drop_column('locale')
        batch_op.drop_column('contact_email')
        batch_op.drop_column('contact_phone')
        batch_op.drop_column('contact_name')
        batch_op.drop_column('urgency')
        batch_op.drop_column('trade')
        batch_op.drop_column('channel')
        batch_op.drop_column('status')
