"""``govgrid market ...``: re-run and verify a published 双随机 draw (anyone can, from the published JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(help="市场监管协同 market supervision: verify published draws", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@app.callback()
def main() -> None:
    """市场监管协同 market supervision (a group, so `govgrid market verify-draw` keeps its name)."""


def _document(path: Path) -> dict[str, Any]:
    """The draw document in FILE: one draw, or a one-element list (as GET /api/v1/market/draws gives)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        err.print(f"无法读取摇号文件 (cannot read the draw file): {exc}")
        raise typer.Exit(2) from None
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, dict):
        err.print("摇号文件应为一次摇号的 JSON 对象 (the file must hold one draw)")
        raise typer.Exit(2)
    return data


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"无法读取 (cannot read) {path}: {exc}")
        raise typer.Exit(2) from None


def _lists_from_database(draw_id: int) -> tuple[str, str]:
    """The frozen lists of a published draw from the configured database."""
    from govgrid.core.bootstrap import bootstrap
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError
    from govgrid.market.services import draws

    bootstrap()
    try:
        with session_scope(readonly=True) as session:
            return draws.lists_of(session, draw_id=draw_id)
    except AppError as exc:
        err.print(exc.message)
        raise typer.Exit(2) from None


@app.command("verify-draw")
def verify_draw(
    file: Annotated[Path, typer.Argument(help="JSON of one draw (GET /api/v1/market/draws/{id})")],
    entities: Annotated[
        Path | None, typer.Option("--entities", help="CSV credit_code,class,last_inspectors")
    ] = None,
    inspectors: Annotated[Path | None, typer.Option("--inspectors", help="CSV id,group,unit,related")] = None,
) -> None:
    """Re-run the draw from its seed and lists: exit 0 "verified", or exit 1 naming the first difference."""
    from govgrid.market import drawing

    doc = _document(file)
    if (entities is None) != (inspectors is None):
        err.print(
            "--entities 与 --inspectors 须同时给出，或都不给（从数据库读取）(give both lists or neither)"
        )
        raise typer.Exit(2)
    if entities is not None and inspectors is not None:
        ent_text, ins_text = _read(entities), _read(inspectors)
    else:
        draw_id = doc.get("id")
        if not isinstance(draw_id, int):
            err.print("摇号文件没有 id (the draw has no id)")
            raise typer.Exit(2)
        ent_text, ins_text = _lists_from_database(draw_id)
    try:
        difference = drawing.verify(doc, ent_text, ins_text)
    except drawing.DrawInputError as exc:
        console.print(f"not verified: {exc}")
        raise typer.Exit(1) from None
    if difference:
        console.print(f"not verified: {difference}")
        raise typer.Exit(1)
    console.print("verified")
