"""`govgrid citymap ...`: the demo simulator and grid validation."""

from __future__ import annotations

import typer
from rich.console import Console

from govgrid.core.bootstrap import bootstrap

cli = typer.Typer(help="City map: simulator, grid checks", no_args_is_help=True)
console = Console()


@cli.command("simulate")
def simulate(county: str = "140321", seconds: float = 60.0, interval: float = 3.0, seed: int = 7) -> None:
    """Move the county's field units (and let cameras report now and then) against GOVGRID_DATABASE_URL."""
    from govgrid.citymap.services import simulation

    bootstrap()
    ticks = simulation.run(county, seconds=seconds, interval=interval, seed=seed)
    console.print(f"[green]simulated {ticks} ticks for county {county}[/green]")


@cli.command("validate-grid")
def validate_grid(division: str) -> None:
    """Report overlaps, gaps and cells outside the division for a township's or village's grid."""
    from govgrid.citymap.services import grid
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError

    bootstrap()
    try:
        with session_scope() as session:
            p = grid.validate_stored_grid(session, division_code=division)
    except AppError as exc:
        console.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"invalid={len(p.invalid)} overlaps={len(p.overlaps)} outside={len(p.outside)} "
        f"gap={p.gap_area_m2:.1f} m2 of {p.region_area_m2:.0f} m2 -> {'OK' if p.ok else 'PROBLEMS'}"
    )
    if not p.ok:
        raise typer.Exit(1)
