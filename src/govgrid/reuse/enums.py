"""Closed sets of the reuse module (一地创新、多地复用), with one transition table per lifecycle.

Lifecycles:
- a typical case (典型案例): submitted (自主申报 or 上级推荐) -> under_review -> accepted | rejected;
  accepted -> recommended_provincial (省级推荐) -> recommended_national (国家级推荐); a rejected case may be
  resubmitted (-> submitted);
- a pack installation (方案包安装): installed -> uninstalled.
"""

from __future__ import annotations

from enum import StrEnum

from govgrid.core.lifecycle import Lifecycle


class CaseState(StrEnum):
    """典型案例状态."""

    submitted = "submitted"
    under_review = "under_review"
    accepted = "accepted"
    rejected = "rejected"
    recommended_provincial = "recommended_provincial"
    recommended_national = "recommended_national"


CASE_STATES_ZH = {
    CaseState.submitted: "已申报",
    CaseState.under_review: "评审中",
    CaseState.accepted: "已入库",
    CaseState.rejected: "未入选",
    CaseState.recommended_provincial: "省级推荐",
    CaseState.recommended_national: "国家级推荐",
}

CASE_LIFECYCLE = Lifecycle(
    CaseState,
    {
        CaseState.submitted: (CaseState.under_review,),
        CaseState.under_review: (CaseState.accepted, CaseState.rejected),
        CaseState.rejected: (CaseState.submitted,),
        CaseState.accepted: (CaseState.recommended_provincial,),
        CaseState.recommended_provincial: (CaseState.recommended_national,),
    },
    name="典型案例",
)

# States in which a case is in the library: every signed-in user may read and rate it (what was shared).
PUBLISHED_STATES = (CaseState.accepted, CaseState.recommended_provincial, CaseState.recommended_national)


class CaseOrigin(StrEnum):
    """How a case entered the library."""

    self_declared = "self_declared"  # 自主申报 by the division
    nominated = "nominated"  # 上级推荐 by an upper level


CASE_ORIGINS_ZH = {CaseOrigin.self_declared: "自主申报", CaseOrigin.nominated: "上级推荐"}


class InstallState(StrEnum):
    """方案包安装状态."""

    installed = "installed"
    uninstalled = "uninstalled"


INSTALL_LIFECYCLE = Lifecycle(
    InstallState, {InstallState.installed: (InstallState.uninstalled,)}, name="方案包安装"
)
INSTALL_STATES_ZH = {InstallState.installed: "已安装", InstallState.uninstalled: "已卸载"}
