"""``govgrid packs ...``: export a division's configuration as a signed solution pack (方案包), install it in
another division with a parameter mapping (``--dry-run`` prints the diff only), uninstall it exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    name="packs",
    help="方案包 solution packs: export, install (with a diff first), uninstall",
    no_args_is_help=True,
)
console = Console()
err = Console(stderr=True)


def _fail(exc: Any) -> typer.Exit:
    """Print an AppError (message and details) and return the exit to raise."""
    err.print(f"[red]{exc.message}[/red]")
    for d in exc.details:
        err.print(f"  {'.'.join(map(str, d['loc']))}: {d['msg']}")
    return typer.Exit(2)


def _start() -> None:
    """Settings, database and the instance's signing secret (the key that signs packs)."""
    from govgrid.core.bootstrap import bootstrap, use_database_secret

    use_database_secret(bootstrap())


def _actor() -> Any:
    from govgrid.core.audit.service import SystemActor

    return SystemActor("cli")


@app.command("export")
def export(
    division: Annotated[str, typer.Option("--division", help="GB/T 2260 code of the origin, e.g. 410527")],
    module: Annotated[str, typer.Option("--module", help="module whose configuration to pack, e.g. appeals")],
    output: Annotated[Path, typer.Option("-o", "--output", help="the pack file to write (JSON)")],
    pack_id: Annotated[str | None, typer.Option("--id", help="pack id (default: MODULE-DIVISION)")] = None,
) -> None:
    """Export DIVISION's configuration of MODULE as a signed pack (also put in the catalogue)."""
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError
    from govgrid.reuse import packfile
    from govgrid.reuse.services import packs

    _start()
    if output.exists():
        err.print(f"{output} 已存在，不会覆盖；请换一个文件名 (the file exists)")
        raise typer.Exit(2)
    try:
        with session_scope() as session:
            pack = packs.export_pack(session, actor=_actor(), division_code=division, module=module,
                                     pack_id=pack_id)
            data = packfile.to_bytes(pack.document)
            name, version = pack.pack_id, pack.version
    except AppError as exc:
        raise _fail(exc) from None
    output.write_bytes(data)
    console.print(f"[green]{name} {version}[/green] -> {output}")


def _mapping(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"无法读取参数映射 (cannot read the mapping) {path}: {exc}")
        raise typer.Exit(2) from None
    if not isinstance(value, dict):
        err.print("参数映射应为 JSON 对象 (the mapping must be a JSON object)")
        raise typer.Exit(2)
    return value


@app.command("install")
def install(
    pack: Annotated[Path, typer.Argument(help="the pack file")],
    division: Annotated[str, typer.Option("--division", help="GB/T 2260 code of the adopter, e.g. 140321")],
    mapping: Annotated[Path | None, typer.Option("--mapping", help="parameter mapping (JSON)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the diff, change nothing")] = False,
) -> None:
    """Check PACK (signature, version), show its diff for DIVISION, and install it (unless --dry-run)."""
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError
    from govgrid.reuse.services import packs

    _start()
    try:
        raw = pack.read_bytes()
    except OSError as exc:
        err.print(f"无法读取方案包 (cannot read the pack) {pack}: {exc}")
        raise typer.Exit(2) from None
    wanted = _mapping(mapping)
    try:
        with session_scope() as session:
            row = packs.import_pack(session, actor=_actor(), raw=raw)
            if dry_run:
                plans = packs.preview(
                    session, actor=_actor(), pack=row, division_code=division, mapping=wanted
                )
                session.rollback()  # a dry run leaves nothing behind, not even the catalogue entry
            else:
                _inst, plans = packs.install(session, actor=_actor(), pack=row, division_code=division,
                                             mapping=wanted)
            title = f"{row.pack_id} {row.version}"
    except AppError as exc:
        raise _fail(exc) from None
    for plan in plans:
        console.print(f"[bold]{plan.key}[/bold] {plan.title_zh}: {len(plan.changes)} 项变更")
        for c in plan.changes:
            console.print(f"  {c.op:7} {c.path}  {c.label}", markup=False)
    verb = "预览（未安装）dry run, nothing changed" if dry_run else "已安装 installed"
    console.print(f"[green]{title}[/green] {division}: {verb}")


@app.command("uninstall")
def uninstall(
    pack_id: Annotated[str, typer.Argument(help="the pack id, e.g. appeals-410527")],
    division: Annotated[str, typer.Option("--division", help="GB/T 2260 code of the adopter")],
) -> None:
    """Restore DIVISION's configuration from before PACK_ID was installed."""
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError
    from govgrid.reuse.services import packs

    _start()
    try:
        with session_scope() as session:
            row = packs.uninstall(session, actor=_actor(), pack_id=pack_id, division_code=division)
            version = row.version
    except AppError as exc:
        raise _fail(exc) from None
    console.print(f"[green]{pack_id} {version}[/green] {division}: 已卸载 uninstalled, settings restored")
