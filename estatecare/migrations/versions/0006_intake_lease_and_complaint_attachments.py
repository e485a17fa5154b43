"""intake lease and complaint attachments

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-23 13:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('intake_lease_until', models.base.UTCDateTime(timezone=True), nullable=True))

    op.create_table('complaint_attachment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('stored_name', sa.String(length=300), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('uploaded_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaint.id'], name=op.f('fk_complaint_attachment_complaint_id_complaint')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['staff.id'], name=op.f('fk_complaint_attachment_uploaded_by_id_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_attachment')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_complaint_attachment_stored_name'))
    )
    with op.batch_alter_table('complaint_attachment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_attachment_complaint_id'), ['complaint_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('complaint_attachment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_attachment_complaint_id'))
    op.drop_table('complaint_attachment')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_column('intake_lease_until')
