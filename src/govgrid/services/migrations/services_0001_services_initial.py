"""services initial

Revision ID: services_0001
Revises:
Create Date: 2026-12-03 07:17:37.669779
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import govgrid.core.db

revision = "services_0001"
down_revision = None
branch_labels = ("services",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "services_processes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_id", sa.String(length=128), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("lanes", sa.JSON(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_processes")),
        sa.UniqueConstraint("process_id", "version", name="uq_services_processes_version"),
    )
    with op.batch_alter_table("services_processes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_services_processes_process_id"), ["process_id"], unique=False)

    op.create_table(
        "services_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("division_code", sa.String(length=32), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("statutory_days", sa.Integer(), nullable=False),
        sa.Column("promised_days", sa.Integer(), nullable=False),
        sa.Column("on_the_spot", sa.Boolean(), nullable=False),
        sa.Column("fee", sa.String(length=200), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("mobile", sa.Boolean(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("prefill", sa.JSON(), nullable=False),
        sa.Column("form_fields", sa.JSON(), nullable=False),
        sa.Column("members", sa.JSON(), nullable=False),
        sa.Column("process_id", sa.String(length=128), nullable=False),
        sa.Column("certificate_type", sa.String(length=64), nullable=False),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_services_items_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["division_code"], ["divisions.code"], name=op.f("fk_services_items_division_code_divisions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_items")),
        sa.UniqueConstraint("code", name=op.f("uq_services_items_code")),
    )
    with op.batch_alter_table("services_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_services_items_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_services_items_division_code"), ["division_code"], unique=False)

    op.create_table(
        "services_applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("applicant_user_id", sa.Integer(), nullable=False),
        sa.Column("applicant_name", sa.String(length=100), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("accepted_division_code", sa.String(length=32), nullable=False),
        sa.Column("accepted_division_path", sa.String(length=255), nullable=False),
        sa.Column("counter_department_id", sa.Integer(), nullable=True),
        sa.Column("decided_division_code", sa.String(length=32), nullable=False),
        sa.Column("decided_division_path", sa.String(length=255), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("form", sa.JSON(), nullable=False),
        sa.Column("prefilled", sa.JSON(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("process_definition_id", sa.Integer(), nullable=False),
        sa.Column("workflow_state", sa.Text(), nullable=False),
        sa.Column("steps", sa.Integer(), nullable=False),
        sa.Column("waiting_timer", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("paused_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("remaining_days", sa.Integer(), nullable=True),
        sa.Column("finished_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column("is_demo", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["accepted_division_code"],
            ["divisions.code"],
            name=op.f("fk_services_applications_accepted_division_code_divisions"),
        ),
        sa.ForeignKeyConstraint(
            ["applicant_user_id"], ["users.id"], name=op.f("fk_services_applications_applicant_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["counter_department_id"],
            ["departments.id"],
            name=op.f("fk_services_applications_counter_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_division_code"],
            ["divisions.code"],
            name=op.f("fk_services_applications_decided_division_code_divisions"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_services_applications_department_id_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["services_items.id"], name=op.f("fk_services_applications_item_id_services_items")
        ),
        sa.ForeignKeyConstraint(
            ["process_definition_id"],
            ["services_processes.id"],
            name=op.f("fk_services_applications_process_definition_id_services_processes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_applications")),
        sa.UniqueConstraint("number", name=op.f("uq_services_applications_number")),
    )
    with op.batch_alter_table("services_applications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_services_applications_accepted_division_code"),
            ["accepted_division_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_services_applications_accepted_division_path"),
            ["accepted_division_path"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_services_applications_applicant_user_id"), ["applicant_user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_services_applications_counter_department_id"),
            ["counter_department_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_services_applications_decided_division_code"),
            ["decided_division_code"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_services_applications_decided_division_path"),
            ["decided_division_path"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_services_applications_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_services_applications_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_services_applications_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_services_applications_status"), ["status"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_services_applications_waiting_timer"), ["waiting_timer"], unique=False
        )

    op.create_table(
        "services_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("home_division_code", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["home_division_code"],
            ["divisions.code"],
            name=op.f("fk_services_profiles_home_division_code_divisions"),
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_services_profiles_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_profiles")),
        sa.UniqueConstraint("user_id", name=op.f("uq_services_profiles_user_id")),
    )
    op.create_table(
        "services_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("cert_type", sa.String(length=64), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("issued_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["services_applications.id"],
            name=op.f("fk_services_certificates_application_id_services_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_certificates")),
        sa.UniqueConstraint("number", name=op.f("uq_services_certificates_number")),
    )
    with op.batch_alter_table("services_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_services_certificates_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "services_materials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["services_applications.id"],
            name=op.f("fk_services_materials_application_id_services_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_materials")),
    )
    with op.batch_alter_table("services_materials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_services_materials_application_id"), ["application_id"], unique=False
        )

    op.create_table(
        "services_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.String(length=1), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("rated_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("follow_up", sa.Text(), nullable=True),
        sa.Column("followed_up_by", sa.String(length=64), nullable=True),
        sa.Column("followed_up_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["services_applications.id"],
            name=op.f("fk_services_ratings_application_id_services_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_services_ratings_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_ratings")),
        sa.UniqueConstraint("application_id", name=op.f("uq_services_ratings_application_id")),
    )
    with op.batch_alter_table("services_ratings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_services_ratings_department_id"), ["department_id"], unique=False
        )

    op.create_table(
        "services_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("task_uuid", sa.String(length=40), nullable=False),
        sa.Column("spec", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("line_code", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("done_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_at", govgrid.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["services_applications.id"],
            name=op.f("fk_services_tasks_application_id_services_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_services_tasks_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_tasks")),
    )
    with op.batch_alter_table("services_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_services_tasks_application_id"), ["application_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_services_tasks_department_id"), ["department_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_services_tasks_open"), ["open"], unique=False)
        batch_op.create_index(batch_op.f("ix_services_tasks_task_uuid"), ["task_uuid"], unique=False)

    op.create_table(
        "services_timeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("at", govgrid.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("division_code", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["services_applications.id"],
            name=op.f("fk_services_timeline_application_id_services_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_services_timeline_department_id_departments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services_timeline")),
    )
    with op.batch_alter_table("services_timeline", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_services_timeline_application_id"), ["application_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("services_timeline", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_timeline_application_id"))

    op.drop_table("services_timeline")
    with op.batch_alter_table("services_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_tasks_task_uuid"))
        batch_op.drop_index(batch_op.f("ix_services_tasks_open"))
        batch_op.drop_index(batch_op.f("ix_services_tasks_department_id"))
        batch_op.drop_index(batch_op.f("ix_services_tasks_application_id"))

    op.drop_table("services_tasks")
    with op.batch_alter_table("services_ratings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_ratings_department_id"))

    op.drop_table("services_ratings")
    with op.batch_alter_table("services_materials", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_materials_application_id"))

    op.drop_table("services_materials")
    with op.batch_alter_table("services_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_certificates_application_id"))

    op.drop_table("services_certificates")
    op.drop_table("services_profiles")
    with op.batch_alter_table("services_applications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_applications_waiting_timer"))
        batch_op.drop_index(batch_op.f("ix_services_applications_status"))
        batch_op.drop_index(batch_op.f("ix_services_applications_item_id"))
        batch_op.drop_index(batch_op.f("ix_services_applications_due_at"))
        batch_op.drop_index(batch_op.f("ix_services_applications_department_id"))
        batch_op.drop_index(batch_op.f("ix_services_applications_decided_division_path"))
        batch_op.drop_index(batch_op.f("ix_services_applications_decided_division_code"))
        batch_op.drop_index(batch_op.f("ix_services_applications_counter_department_id"))
        batch_op.drop_index(batch_op.f("ix_services_applications_applicant_user_id"))
        batch_op.drop_index(batch_op.f("ix_services_applications_accepted_division_path"))
        batch_op.drop_index(batch_op.f("ix_services_applications_accepted_division_code"))

    op.drop_table("services_applications")
    with op.batch_alter_table("services_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_items_division_code"))
        batch_op.drop_index(batch_op.f("ix_services_items_department_id"))

    op.drop_table("services_items")
    with op.batch_alter_table("services_processes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_services_processes_process_id"))

    op.drop_table("services_processes")
