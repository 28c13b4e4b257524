"""The exchange's closed sets: stored strings, schema literals, labels and the transition tables agree."""

from __future__ import annotations

from enum import StrEnum
from typing import get_args

import pytest

from govgrid.core.errors import ConflictError
from govgrid.exchange import enums, ingest, schemas
from govgrid.exchange.enums import (
    GRANT_TRANSITIONS,
    PENDING,
    REQUEST_TRANSITIONS,
    TRANSITIONS,
    UPLOAD_TRANSITIONS,
    GrantStatus,
    RequestStatus,
    UploadStatus,
    can_move,
    is_final,
    require_move,
)
from govgrid.exchange.services import metrics

ALL = [v for v in vars(enums).values() if isinstance(v, type) and issubclass(v, StrEnum) and v is not StrEnum]


@pytest.mark.parametrize("enum", ALL, ids=lambda e: e.__name__)
def test_member_names_are_the_stored_strings(enum):
    # The database keeps the value; a driver that dumps an Enum by name must store the same string.
    assert all(m.name == m.value for m in enum)


@pytest.mark.parametrize(
    ("literal", "enum"),
    [
        (schemas.SharingType, enums.SharingType),
        (schemas.OpenType, enums.OpenType),
        (schemas.Grade, enums.Grade),
        (schemas.ItemType, enums.ItemType),
        (schemas.MaskRule, enums.MaskRule),
        (schemas.UpdateCycle, enums.UpdateCycle),
        (schemas.ResourceBase.model_fields["kind"].annotation, enums.ResourceKind),
        (schemas.ResourceBase.model_fields["sharing_method"].annotation, enums.SharingMethod),
        (schemas.RequestCreate.model_fields["mode"].annotation, enums.AccessMode),
        (schemas.DecisionIn.model_fields["action"].annotation, enums.DecisionAction),
    ],
)
def test_schema_literals_match_the_enums(literal, enum):
    # The API keeps its inline literal enums (the OpenAPI document is unchanged); they must not drift.
    assert set(get_args(literal)) == {m.value for m in enum}


def test_other_closed_sets_match():
    assert set(ingest.ITEM_TYPES) == set(enums.ItemType)
    assert set(get_args(schemas.FlowLevel.model_fields["relation"].annotation)) == set(metrics.RELATIONS)


@pytest.mark.parametrize(
    ("labels", "enum"),
    [
        (enums.SHARING_TYPE_ZH, enums.SharingType),
        (enums.OPEN_TYPE_ZH, enums.OpenType),
        (enums.GRADE_ZH, enums.Grade),
        (enums.UPDATE_CYCLE_ZH, enums.UpdateCycle),
        (enums.REQUEST_STATUS_ZH, enums.RequestStatus),
    ],
)
def test_every_member_has_a_chinese_label(labels, enum):
    assert set(labels) == set(enum)
    assert labels["granted" if enum is RequestStatus else next(iter(enum)).value]  # plain strings look up too


def test_transition_tables_cover_every_state():
    for enum, table in TRANSITIONS.items():
        assert set(table) == set(enum)
        assert all(target in enum for targets in table.values() for target in targets)
    assert TRANSITIONS[RequestStatus] is REQUEST_TRANSITIONS
    assert TRANSITIONS[GrantStatus] is GRANT_TRANSITIONS
    assert TRANSITIONS[UploadStatus] is UPLOAD_TRANSITIONS


def test_request_lifecycle():
    assert (RequestStatus.pending_check, RequestStatus.pending_approval) == PENDING
    assert can_move("pending_check", RequestStatus.pending_approval)
    assert can_move(RequestStatus.pending_check, RequestStatus.granted)  # 无条件: granted at once
    assert can_move(RequestStatus.pending_approval, RequestStatus.refused)
    assert can_move(RequestStatus.pending_approval, RequestStatus.withdrawn)
    assert not can_move(RequestStatus.pending_approval, RequestStatus.pending_approval)  # accepted twice
    for final in (RequestStatus.granted, RequestStatus.refused, RequestStatus.withdrawn):
        assert is_final(final)
        assert not any(can_move(final, target) for target in RequestStatus)
    assert RequestStatus.pending_check.zh == "待审核"


def test_grant_and_upload_lifecycles():
    assert can_move(GrantStatus.active, GrantStatus.revoked)
    assert can_move(GrantStatus.expired, GrantStatus.revoked)  # an expired grant may still be revoked
    assert not can_move(GrantStatus.revoked, GrantStatus.revoked)
    assert can_move("active", UploadStatus.superseded) and is_final(UploadStatus.superseded)
    with pytest.raises(ConflictError, match="already revoked"):
        require_move(GrantStatus.revoked, GrantStatus.revoked, "授权已撤销 (grant already revoked)")
