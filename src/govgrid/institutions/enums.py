"""Closed sets of the institutions module (数据制度), with one transition table per lifecycle.

Lifecycle of a security incident (安全事件): reported (待研判, filed from a gateway refusal) -> investigating
(处置中) -> resolved (已处置) -> closed (已归档); a reported or investigating incident may be dismissed (误报,
final); a resolved one may be reopened (investigating) while it is not closed.
"""

from __future__ import annotations

from enum import StrEnum

from govgrid.core.lifecycle import Lifecycle


class Grade(StrEnum):
    """GB/T 43697-2024 grades: 一般 general, 重要 important, 核心 core (就高从严: the highest applies)."""

    general = "general"
    important = "important"
    core = "core"


GRADE_RANK = {Grade.general: 0, Grade.important: 1, Grade.core: 2}

# Days between periodic reviews (定期评估) by grade: the higher the grade, the more often.
REVIEW_DAYS = {Grade.core: 90, Grade.important: 180, Grade.general: 365}

# The controls (安全措施) each grade requires; a higher grade carries every control of the lower ones.
CONTROLS: dict[Grade, tuple[str, ...]] = {
    Grade.general: ("access_log", "grant_required"),
    Grade.important: ("access_log", "grant_required", "masking", "rate_limit", "annual_assessment"),
    Grade.core: (
        "access_log",
        "grant_required",
        "masking",
        "rate_limit",
        "annual_assessment",
        "data_stays_in_domain",
        "dual_approval",
    ),
}


class Outcome(StrEnum):
    """What a use of shared data enabled (成效), read from the call kind and the purpose the caller gave."""

    prefill = "prefill"  # 免提交材料: a form pre-filled, a material the applicant no longer submits
    verify = "verify"  # 核验免跑腿: a fact checked online, a visit saved
    case = "case"  # 办件/案件: used in handling a named case
    sync = "sync"  # 数据同步: a registry or monitoring feed kept current
    other = "other"


class IncidentState(StrEnum):
    """Where a security incident stands."""

    reported = "reported"
    investigating = "investigating"
    resolved = "resolved"
    dismissed = "dismissed"
    closed = "closed"


INCIDENT = Lifecycle(
    IncidentState,
    {
        IncidentState.reported: {IncidentState.investigating, IncidentState.dismissed},
        IncidentState.investigating: {IncidentState.resolved, IncidentState.dismissed},
        IncidentState.resolved: {IncidentState.closed, IncidentState.investigating},
    },
    name="安全事件",
)
OPEN_INCIDENT = (IncidentState.reported, IncidentState.investigating)


class IncidentSource(StrEnum):
    """Where a candidate incident came from (real module data, never typed in)."""

    gateway_refusal = "gateway_refusal"  # 越权调用: the exchange gateway refused a call (audited)
    rate_limit = "rate_limit"  # 超频调用: a granted call refused over the grant's rate limit (audited)
