"""The case lifecycle: one table, no state stranded, the finals final."""

from govgrid.reuse.enums import CASE_LIFECYCLE, INSTALL_LIFECYCLE, CaseState, InstallState


def test_every_case_state_leads_on_or_is_final():
    for state in CaseState:
        assert CASE_LIFECYCLE.is_final(state) or CASE_LIFECYCLE.next_states(state)
    assert CASE_LIFECYCLE.is_final(CaseState.recommended_national)
    assert CaseState.recommended_national in CASE_LIFECYCLE.reachable(CaseState.submitted)
    assert CaseState.recommended_national in CASE_LIFECYCLE.reachable(CaseState.rejected)  # resubmitted


def test_a_case_cannot_skip_review():
    assert not CASE_LIFECYCLE.can_move(CaseState.submitted, CaseState.accepted)
    assert not CASE_LIFECYCLE.can_move(CaseState.accepted, CaseState.recommended_national)
    assert not CASE_LIFECYCLE.can_move(CaseState.rejected, CaseState.recommended_provincial)


def test_an_uninstalled_pack_stays_uninstalled():
    assert INSTALL_LIFECYCLE.is_final(InstallState.uninstalled)
    assert INSTALL_LIFECYCLE.can_move(InstallState.installed, InstallState.uninstalled)
