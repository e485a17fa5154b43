"""next reply, escalation deadline, incoming document, rectification, suggestion revisits

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 20:03:16

complaint: the next reply date promised to the complainant (R-HD-5), the deadline of the
superior at the current escalation level (R-HD-3), a written complaint's incoming-document
number (R-IN-3), and whether the result was a rectification (R-KP-1); revisit: the earlier
revisit whose suggestion a suggestion revisit follows up (R-RV-2).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import models.base

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.add_column(sa.Column('incoming_doc_number', sa.String(length=64), server_default='', nullable=False))
        batch_op.add_column(sa.Column('next_reply_due_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_due_at', models.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rectification', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_index('ix_complaint_escalation_due', ['escalation_due_at'], unique=False)
        batch_op.create_index('ix_complaint_next_reply_due', ['next_reply_due_at'], unique=False)
        batch_op.create_index('ix_complaint_rectification_resolved', ['rectification', 'resolved_at'], unique=False)

    with op.batch_alter_table('revisit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source_revisit_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_revisit_source_revisit_id'), ['source_revisit_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_revisit_source_revisit_id_revisit'), 'revisit', ['source_revisit_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('revisit', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_revisit_source_revisit_id_revisit'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_revisit_source_revisit_id'))
        batch_op.drop_column('source_revisit_id')

    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_rectification_resolved')
        batch_op.drop_index('ix_complaint_next_reply_due')
        batch_op.drop_index('ix_complaint_escalation_due')
        batch_op.drop_column('rectification')
        batch_op.drop_column('escalation_due_at')
        batch_op.drop_column('next_reply_due_at')
        batch_op.drop_column('incoming_doc_number')

