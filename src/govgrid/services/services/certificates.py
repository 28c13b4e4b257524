"""E-certificates (电子证照): a signed JSON document per completed application and its verification.

The signature is HMAC-SHA256 over the canonical JSON under a key derived from GOVGRID_SECRET_KEY (the same
derivation idea as `core.sealing`): anyone holding the number can check a certificate with the verification
endpoint, and a changed byte of the document fails. China's OFD e-licences with SM2 seals are the production
format; this is the platform's own verifiable record.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.config import get_settings
from govgrid.core.audit import service as audit
from govgrid.core.audit.service import Actor
from govgrid.core.db import utcnow
from govgrid.core.errors import NotFoundError
from govgrid.core.privacy import mask_name
from govgrid.services.models import Application, Certificate, TaskRecord

log = logging.getLogger(__name__)
ALGORITHM = "HMAC-SHA256"


def _key() -> bytes:
    secret = get_settings().secret_key.get_secret_value()
    return hashlib.sha256(b"govgrid-services-ecert\x00" + secret.encode()).digest()


def canonical(document: dict[str, Any]) -> bytes:
    """The bytes that are signed: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(document: dict[str, Any]) -> str:
    """The hex signature of a document."""
    return hmac.new(_key(), canonical(document), hashlib.sha256).hexdigest()


def issue(session: Session, *, actor: Actor, app: Application) -> Certificate:
    """Issue the e-certificate of a completed application (one per application)."""
    existing = session.scalar(select(Certificate).where(Certificate.application_id == app.id))
    if existing is not None:
        return existing
    number = f"DZZZ-{app.decided_division_code}-{utcnow():%Y%m%d}-{secrets.token_hex(4).upper()}"
    results = [
        {
            "task": t.name,
            "department": t.department.name,
            "decision": t.decision or "",
            "at": t.done_at.isoformat(),
        }
        for t in session.scalars(
            select(TaskRecord)
            .where(TaskRecord.application_id == app.id, TaskRecord.decision.is_not(None))
            .order_by(TaskRecord.id)
        )
        if t.done_at is not None
    ]
    document = {
        "type": app.item.certificate_type or app.item.name,
        "number": number,
        "item": {"code": app.item.code, "name": app.item.name},
        "application": app.number,
        "holder": mask_name(app.applicant_name) if app.applicant_name else "",
        "issuer": app.item.department.name,
        "issued_in": app.decided_division_code,
        "accepted_in": app.accepted_division_code,
        "issued_at": utcnow().isoformat(),
        "results": results,
    }
    cert = Certificate(
        number=number,
        application_id=app.id,
        cert_type=document["type"],
        document=document,
        signature=sign(document),
    )
    session.add(cert)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="services.certificate.issued",
        entity_type="services.certificate",
        entity_id=number,
        department_id=app.department_id,
        division_code=app.decided_division_code,
    )
    log.info("certificate issued", extra={"certificate": number, "application": app.number})
    return cert


def verify_document(document: dict[str, Any], signature: str) -> bool:
    """True if the signature matches the document (constant-time comparison)."""
    return hmac.compare_digest(sign(document), str(signature))


def verify(session: Session, *, number: str) -> dict[str, Any]:
    """Public verification by number: whether the stored document still matches its signature."""
    cert = session.scalar(select(Certificate).where(Certificate.number == number))
    if cert is None:
        raise NotFoundError(f"电子证照 {number} 不存在 (no certificate {number})")
    return {
        "number": cert.number,
        "valid": verify_document(cert.document, cert.signature),
        "algorithm": ALGORITHM,
        "document": cert.document,
        "signature": cert.signature,
    }


def verifiable_credential_of(verified: dict[str, Any]) -> dict[str, Any]:
    """A verified certificate (`verify`'s answer) as a W3C Verifiable Credential (data model 2.0) export; the
    proof is the HMAC above (no Python VC library offers SM2 seals)."""
    doc = verified["document"]
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "id": f"urn:govgrid:ecert:{verified['number']}",
        "issuer": f"urn:govgrid:issuer:{doc.get('issuer', '')}",
        "validFrom": doc.get("issued_at"),
        "credentialSubject": doc,
        "proof": {
            "type": "GovgridHmacSignature",
            "proofValue": verified["signature"],
            "valid": verified["valid"],
        },
    }
