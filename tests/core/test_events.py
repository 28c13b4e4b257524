"""Domain events reach subscribers only when the unit of work that raised them commits."""

import pytest

from govgrid.core import events
from govgrid.core.db import session_scope


def test_event_delivered_after_commit_and_dropped_on_rollback(db):
    seen = []
    events.subscribe("test.thing_happened", lambda ev: seen.append(ev.payload["n"]))
    with session_scope() as s:
        events.publish(s, "test.thing_happened", n=1)
        assert seen == [], "nothing is delivered before the commit"
    assert seen == [1]
    with pytest.raises(RuntimeError), session_scope() as s:
        events.publish(s, "test.thing_happened", n=2)
        raise RuntimeError("boom")
    assert seen == [1], "a rolled-back unit of work delivers nothing"


def test_failing_subscriber_does_not_stop_the_others(db):
    seen = []
    events.subscribe("test.fragile", lambda ev: 1 / 0)
    events.subscribe("test.fragile", lambda ev: seen.append(ev.name))
    with session_scope() as s:
        events.publish(s, "test.fragile")
    assert seen == ["test.fragile"]
