"""The solution pack file (方案包): one JSON document, its body canonicalised with RFC 8785 and signed with
the instance's Ed25519 key (``core.sealing``, the key that signs backup manifests).

```
{"format": "govgrid-pack/1",
 "manifest": {"id", "version" (SemVer), "title", "module", "govgrid" (">=0.1.0,<0.2.0"), "origin",
              "adopters", "created_at", "parameters" (JSON Schema of the adopter's mapping), "sections",
              "fixtures", "sharing"},
 "sections": {"appeals/categories": {...}},
 "signature": {"alg": "Ed25519", "public_key": base64, "value": base64}}
```

The signature covers ``rfc8785.dumps({"format", "manifest", "sections"})``: any byte changed in what a pack
says breaks it. Reading a pack checks, in order, that it parses, its format, the signature and its signer, the
version range, and each field's shape; every refusal says what to do."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

import jsonschema
import rfc8785
import semver

import govgrid
from govgrid.core.errors import ValidationFailedError
from govgrid.core.sealing import instance_public_key_b64, sign_bytes, signature_valid

FORMAT = "govgrid-pack/1"
MAX_PACK_BYTES = 2 * 1024 * 1024
PACK_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{2,79}$")
LINE = {"type": "string", "pattern": "^[a-z0-9_]{2,40}$"}
LINE_CODE = re.compile(r"^[a-z0-9_]{2,40}$")

# What an adopter may set when installing (参数映射): its own departments for the origin's lines, its own
# clocks per appeal category and its own time limits per service item (working days). Shipped in every
# manifest so the adopter sees what a mapping may contain.
MAPPING_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "方案包参数映射 (the adopter's parameter mapping)",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "lines": {
            "description": "首创地的条线代码 -> 本地承接的条线代码 (origin line -> own line)",
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9_]{2,40}$"},
            "additionalProperties": LINE,
        },
        "deadlines": {
            "description": "诉求类别 -> 本地时限 (category -> own clocks)",
            "type": "object",
            "propertyNames": {"pattern": "^[a-z0-9_]{2,32}$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "sign_hours": {"type": "number", "minimum": 0.5, "maximum": 72},
                    "contact_hours": {"type": "number", "minimum": 0.5, "maximum": 120},
                    "resolve_days": {"type": "integer", "minimum": 1, "maximum": 60},
                },
            },
        },
        "service_days": {
            "description": "事项编码（不含区划，如 SX-001）-> 本地时限，工作日 (item -> own limits)",
            "type": "object",
            "propertyNames": {"pattern": "^[A-Z][A-Z0-9]{0,15}-[A-Za-z0-9_-]{1,40}$"},
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "promised_days": {"type": "integer", "minimum": 0, "maximum": 365},
                    "statutory_days": {"type": "integer", "minimum": 0, "maximum": 365},
                },
            },
        },
        "class_hours": {
            "description": "城市管理类别（如 event-0101）-> 本地处置时限，工作小时 (class -> own hours)",
            "type": "object",
            "propertyNames": {"pattern": "^(part|event)-[0-9]{4}$"},
            "additionalProperties": {"type": "number", "minimum": 0.5, "maximum": 720},
        },
        "class_deadline_scale": {
            "description": "城市管理类别处置时限的折算比例 (scale of the pack's class deadlines)",
            "type": "number",
            "exclusiveMinimum": 0,
            "maximum": 10,
        },
    },
}


def govgrid_version() -> str:
    """The running platform's version (SemVer)."""
    return govgrid.__version__


def compatible_range() -> str:
    """The version range a pack made here declares: the same minor series (0.x) or major (1.x and later)."""
    v = semver.Version.parse(govgrid_version())
    upper = v.bump_minor() if v.major == 0 else v.bump_major()
    return f">={v.major}.{v.minor}.0,<{upper}"


def next_version(previous: list[str]) -> str:
    """1.0.0 for a new pack id, else the highest earlier version with its minor bumped."""
    if not previous:
        return "1.0.0"
    return str(max(semver.Version.parse(p) for p in previous).bump_minor())


def body_bytes(document: dict[str, Any]) -> bytes:
    """The canonical bytes the signature covers (RFC 8785)."""
    return rfc8785.dumps(
        {"format": document["format"], "manifest": document["manifest"], "sections": document["sections"]}
    )


def digest(document: dict[str, Any]) -> str:
    """SHA-256 of the canonical signed body (the pack's fingerprint)."""
    return hashlib.sha256(body_bytes(document)).hexdigest()


def seal(manifest: dict[str, Any], sections: dict[str, Any]) -> dict[str, Any]:
    """The signed pack document for a manifest and its sections' content."""
    document: dict[str, Any] = {"format": FORMAT, "manifest": manifest, "sections": sections}
    document["signature"] = {
        "alg": "Ed25519",
        "public_key": instance_public_key_b64(),
        "value": sign_bytes(body_bytes(document)),
    }
    return document


def to_bytes(document: dict[str, Any]) -> bytes:
    """The pack file (readable JSON; the signature does not depend on the layout)."""
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"


def _refuse(message: str, loc: str = "pack") -> ValidationFailedError:
    return ValidationFailedError(message, details=[{"loc": [loc], "msg": message}])


def _check_version_range(manifest: dict[str, Any]) -> None:
    """Refuse a pack whose govgrid range excludes the running version (the reason names both)."""
    spec = str(manifest.get("govgrid", ""))
    running = semver.Version.parse(govgrid_version())
    try:
        parts = [part.strip() for part in spec.split(",") if part.strip()]
        ok = bool(parts) and all(running.match(part) for part in parts)
    except ValueError:
        raise _refuse(f"方案包声明的平台版本范围“{spec}”无法识别 (unreadable range)", "govgrid") from None
    if not ok:
        raise _refuse(
            f"版本不兼容：方案包要求 govgrid {spec}，本平台是 {running}。请向首创地索取适用于 {running} "
            f"的方案包版本，或先升级本平台 "
            f"(incompatible version: the pack needs govgrid {spec}, this is {running})",
            "govgrid",
        )


def read(raw: bytes) -> dict[str, Any]:
    """A pack document from its file bytes, checked: parse, format, signature and signer, version range."""
    if len(raw) > MAX_PACK_BYTES:
        raise _refuse(f"方案包超过 {MAX_PACK_BYTES // 1024 // 1024} MB (pack too large)")
    try:
        document = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _refuse(
            "方案包文件无法读取：不是完整的 JSON，可能在传输中损坏或被改动，请重新获取原文件 "
            "(the pack is not valid JSON: damaged or altered; fetch the original file again)"
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise _refuse(f"不是 {FORMAT} 格式的方案包 (not a govgrid pack of format {FORMAT})", "format")
    signature = document.get("signature")
    if not isinstance(document.get("manifest"), dict) or not isinstance(document.get("sections"), dict) or (
        not isinstance(signature, dict)
    ):
        raise _refuse("方案包缺少清单、内容或签名 (manifest, sections or signature missing)")
    try:
        body = body_bytes(document)
    except rfc8785.CanonicalizationError:
        raise _refuse("方案包内容无法规范化（RFC 8785），无法核验签名 (cannot canonicalise)") from None
    if not signature_valid(body, signature_b64=str(signature.get("value", "")),
                           public_key_b64=str(signature.get("public_key", ""))):
        raise _refuse(
            "签名核验失败：方案包在签署之后被改动过（哪怕一个字节），不能安装。请向首创地重新获取原始方案包 "
            "(signature check failed: the pack was altered after it was signed)",
            "signature",
        )
    if signature.get("public_key") != instance_public_key_b64():
        raise _refuse(
            "方案包不是由本平台的密钥签署的，来源无法确认 (the pack was not signed by this deployment's key)",
            "signature",
        )
    manifest = document["manifest"]
    _check_version_range(manifest)
    if not PACK_ID.match(str(manifest.get("id", ""))):
        raise _refuse("方案包编号无效 (invalid pack id)", "id")
    try:
        semver.Version.parse(str(manifest.get("version", "")))
    except ValueError:
        raise _refuse("方案包版本号不是语义化版本 (the version is not SemVer)", "version") from None
    if not sharing_needs_valid(manifest.get("sharing", [])):
        raise _refuse("方案包的共享需求清单格式不对 (sharing: a list of {resource_code, purpose})", "sharing")
    try:
        jsonschema.Draft202012Validator.check_schema(manifest.get("parameters"))
    except jsonschema.SchemaError:
        raise _refuse("方案包的参数模式不是有效的 JSON Schema (invalid schema)", "parameters") from None
    return document


def sharing_needs_valid(value: Any) -> bool:
    """True if a manifest's `sharing` is a list of {resource_code, purpose[, fields, consumer_line]}."""
    if not isinstance(value, list) or len(value) > 50:
        return False
    for need in value:
        if not isinstance(need, dict) or set(need) - {"resource_code", "purpose", "fields", "consumer_line"}:
            return False
        if not all(isinstance(need.get(k), str) and need[k].strip() for k in ("resource_code", "purpose")):
            return False
        fields = need.get("fields", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            return False
        if not LINE_CODE.match(str(need.get("consumer_line", "government"))):
            return False
    return True


def check_mapping(schema: dict[str, Any], mapping: Any) -> dict[str, Any]:
    """The adopter's mapping, validated against the pack's parameter schema (every problem at once)."""
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(mapping), key=lambda e: list(e.absolute_path))
    if errors:
        raise ValidationFailedError(
            "参数映射不符合方案包的参数模式，请按提示修改 (the mapping does not match the pack's parameters)",
            details=[
                {"loc": ["mapping", *[str(p) for p in e.absolute_path]], "msg": e.message[:200]}
                for e in errors[:20]
            ],
        )
    return dict(mapping)
