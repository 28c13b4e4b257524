"""The reuse JSON API under /api/v1/reuse: the pack catalogue, preview (diff), install, uninstall, and the
case library. Routes stay thin: parse, call one service, serialise. Every route needs a signed-in caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, UploadFile
from fastapi.responses import Response

from govgrid.core.deps import CurrentPrincipal, SessionDep
from govgrid.core.errors import PayloadTooLargeError
from govgrid.reuse import packfile
from govgrid.reuse import schemas as s
from govgrid.reuse.enums import CASE_LIFECYCLE
from govgrid.reuse.models import Case, Installation, Pack
from govgrid.reuse.services import cases, packs

router = APIRouter(prefix="/reuse", tags=["reuse"])
ID = Annotated[int, Path(ge=1, le=2_147_483_647)]


def pack_read(p: Pack, adopters: int = 0) -> s.PackRead:
    """Serialise a pack of the catalogue."""
    return s.PackRead(
        id=p.id, pack_id=p.pack_id, version=p.version, title=p.title, module=p.module,
        division_code=p.division_code, sha256=p.sha256, created_at=p.created_at, adopters=adopters,
        manifest=p.document.get("manifest", {}),
    )


def installation_read(i: Installation) -> s.InstallationRead:
    """Serialise an installation."""
    return s.InstallationRead(
        id=i.id, pack_id=i.pack_id, version=i.version, division_code=i.division_code, state=i.state,
        mapping=dict(i.mapping), changes=list(i.changes), installed_at=i.installed_at,
        installed_by=i.installed_by, uninstalled_at=i.uninstalled_at,
    )


def plans_read(plans: list[packs.SectionPlan]) -> list[s.SectionPlanRead]:
    """Serialise a preview."""
    return [
        s.SectionPlanRead(key=p.key, title_zh=p.title_zh,
                          changes=[s.ChangeRead(**packs.change_json(c)) for c in p.changes])
        for p in plans
    ]


def case_read(c: Case) -> s.CaseRead:
    """Serialise a case."""
    return s.CaseRead(
        id=c.id, title=c.title, summary=c.summary, division_code=c.division_code, origin=c.origin,
        state=c.state, submitted_by=c.submitted_by, nominated_by=c.nominated_by, pack_id=c.pack_id,
        measures_before=dict(c.measures_before), measures_after=dict(c.measures_after),
        review_note=c.review_note, rating=c.rating, rating_count=c.rating_count,
        next_states=sorted(str(x) for x in CASE_LIFECYCLE.next_states(c.state)), created_at=c.created_at,
    )


@router.get("/packs")
def list_packs(session: SessionDep, principal: CurrentPrincipal) -> list[s.PackRead]:
    """The pack catalogue (shared with every signed-in user)."""
    counts = packs.adopter_counts(session)
    return [pack_read(p, counts.get(p.pack_id, 0)) for p in packs.list_packs(session, actor=principal)]


@router.post("/packs", status_code=201)
def upload_pack(file: UploadFile, session: SessionDep, principal: CurrentPrincipal) -> s.PackRead:
    """Add a pack file to the catalogue after checking its signature, signer and version range."""
    raw = file.file.read(packfile.MAX_PACK_BYTES + 1)
    if len(raw) > packfile.MAX_PACK_BYTES:
        raise PayloadTooLargeError("方案包超过 2 MB (pack too large)")
    return pack_read(packs.import_pack(session, actor=principal, raw=raw))


@router.post("/packs/export", status_code=201)
def export_pack(body: s.PackExport, session: SessionDep, principal: CurrentPrincipal) -> s.PackRead:
    """Export a division's configuration of a module as a signed pack into the catalogue."""
    return pack_read(packs.export_pack(session, actor=principal, division_code=body.division_code,
                                       module=body.module, pack_id=body.pack_id))


@router.get("/packs/{pack_row_id}")
def get_pack(pack_row_id: ID, session: SessionDep, principal: CurrentPrincipal) -> s.PackRead:
    """One pack of the catalogue with its manifest."""
    return pack_read(packs.get_pack(session, actor=principal, pack_row_id=pack_row_id))


@router.get("/packs/{pack_row_id}/file")
def download_pack(pack_row_id: ID, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """The signed pack file, byte for byte as `govgrid packs install` reads it."""
    pack = packs.get_pack(session, actor=principal, pack_row_id=pack_row_id)
    return Response(
        packfile.to_bytes(pack.document), media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{pack.pack_id}-{pack.version}.json"'},
    )


@router.post("/packs/{pack_row_id}/preview")
def preview(
    pack_row_id: ID, body: s.InstallRequest, session: SessionDep, principal: CurrentPrincipal
) -> list[s.SectionPlanRead]:
    """The diff installing the pack would make in the division (nothing written)."""
    pack = packs.get_pack(session, actor=principal, pack_row_id=pack_row_id)
    return plans_read(packs.preview(session, actor=principal, pack=pack, division_code=body.division_code,
                                    mapping=body.mapping))


@router.post("/packs/{pack_row_id}/install", status_code=201)
def install(
    pack_row_id: ID, body: s.InstallRequest, session: SessionDep, principal: CurrentPrincipal
) -> s.InstallResult:
    """Install the pack in the division (all sections in one transaction) and return the diff applied."""
    pack = packs.get_pack(session, actor=principal, pack_row_id=pack_row_id)
    row, plans = packs.install(session, actor=principal, pack=pack, division_code=body.division_code,
                               mapping=body.mapping)
    return s.InstallResult(installation=installation_read(row), sections=plans_read(plans))


@router.get("/installations")
def list_installations(
    session: SessionDep,
    principal: CurrentPrincipal,
    division_code: Annotated[str | None, Query(pattern=r"^\d{6,12}$")] = None,
) -> list[s.InstallationRead]:
    """Installations in the caller's territory or departments."""
    rows = packs.list_installations(session, actor=principal, division_code=division_code)
    return [installation_read(r) for r in rows]


@router.post("/installations/{installation_id}/uninstall")
def uninstall(installation_id: ID, session: SessionDep, principal: CurrentPrincipal) -> s.InstallationRead:
    """Restore the division's configuration from before the installation, exactly."""
    row = packs.get_installation(session, actor=principal, installation_id=installation_id)
    return installation_read(
        packs.uninstall(session, actor=principal, pack_id=row.pack_id, division_code=row.division_code)
    )


@router.get("/cases")
def list_cases(
    session: SessionDep,
    principal: CurrentPrincipal,
    state: Annotated[str | None, Query(max_length=32)] = None,
) -> list[s.CaseRead]:
    """The case library and the cases in review the caller's territory may see."""
    return [case_read(c) for c in cases.list_cases(session, actor=principal, state=state)]


@router.post("/cases", status_code=201)
def submit_case(body: s.CaseCreate, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """Declare a case of one's division, or nominate one of a division below."""
    return case_read(cases.submit(
        session, actor=principal, division_code=body.division_code, title=body.title, summary=body.summary,
        pack_id=body.pack_id, measures_before=body.measures_before, measures_after=body.measures_after,
    ))


@router.get("/cases/{case_id}")
def get_case(case_id: ID, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """One case."""
    return case_read(cases.get_case(session, actor=principal, case_id=case_id))


@router.post("/cases/{case_id}/review")
def start_review(case_id: ID, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """An upper level takes the case into review."""
    return case_read(cases.start_review(session, actor=principal, case_id=case_id))


@router.post("/cases/{case_id}/decision")
def decide(case_id: ID, body: s.CaseDecision, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """Accept the case into the library, or reject it with a note."""
    return case_read(
        cases.decide(session, actor=principal, case_id=case_id, accept=body.accept, note=body.note)
    )


@router.post("/cases/{case_id}/promote")
def promote(case_id: ID, body: s.CasePromote, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """Recommend the case for the province or the nation."""
    return case_read(cases.promote(session, actor=principal, case_id=case_id, level=body.level))


@router.post("/cases/{case_id}/resubmit")
def resubmit(case_id: ID, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """Submit a rejected case again."""
    return case_read(cases.resubmit(session, actor=principal, case_id=case_id))


@router.post("/cases/{case_id}/ratings")
def rate(case_id: ID, body: s.RatingCreate, session: SessionDep, principal: CurrentPrincipal) -> s.CaseRead:
    """Score a case in the library (1-5)."""
    return case_read(cases.rate(session, actor=principal, case_id=case_id, score=body.score,
                                comment=body.comment))
