"""``govgrid carbon ...``: stock accounting, whole assessments and demo inputs (湿地碳汇命令行).

These commands run the pure engine on files: they read no settings and open no database, so they need no
``govgrid.core.bootstrap``. A registry command added here must start with ``bootstrap()`` like every other
module CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from govgrid.carbon.engine.spec import ApplicabilityError, Problem, ValidationError

# The engine's raster stack (rasterio, scipy) is imported inside the commands: `govgrid` itself starts fast.

app = typer.Typer(help="Wetland carbon sink accounting (湿地碳汇核算).", no_args_is_help=True)


def _fail(problems: list[Problem]) -> NoReturn:
    typer.echo("invalid inputs:", err=True)
    for p in problems:
        typer.echo(f"  {p.key}: {p.message}", err=True)
    raise typer.Exit(2)


@app.command()
def stock(
    lulc_bas: Annotated[Path, typer.Option("--lulc-bas", help="baseline land-cover raster")],
    pools: Annotated[Path, typer.Option("--pools", help="carbon pool CSV (Mg C/ha)")],
    out: Annotated[Path, typer.Option("--out", help="output folder")],
    lulc_alt: Annotated[Path | None, typer.Option("--lulc-alt", help="alternate land-cover raster")] = None,
    bas_year: Annotated[int | None, typer.Option("--bas-year")] = None,
    alt_year: Annotated[int | None, typer.Option("--alt-year")] = None,
    price: Annotated[float | None, typer.Option("--price", help="price per Mg C (enables valuation)")] = None,
    discount_rate: Annotated[float | None, typer.Option("--discount-rate", help="%/yr")] = None,
    rate_change: Annotated[float | None, typer.Option("--rate-change", help="%/yr")] = None,
    totals_only: Annotated[bool, typer.Option("--totals-only", help="only summary.json, no rasters")] = False,
    scheduler: Annotated[
        str | None, typer.Option("--scheduler", help="dask.distributed scheduler address")
    ] = None,
    compress: Annotated[str, typer.Option("--compress", help="GeoTIFF compression of outputs")] = "lzw",
) -> None:
    """InVEST-compatible storage, sequestration and valuation: four rasters and summary.json."""
    args = {
        "lulc_bas_path": lulc_bas,
        "lulc_alt_path": lulc_alt,
        "carbon_pools_path": pools,
        "out_dir": out,
        "bas_year": bas_year,
        "alt_year": alt_year,
        "price_per_metric_ton_of_c": price,
        "discount_rate": discount_rate,
        "rate_change": rate_change,
        "totals_only": totals_only,
        "scheduler": scheduler,
        "compress": compress,
        "progress": True,
    }
    from govgrid.carbon.engine.stock import CarbonStockModel

    try:
        res = CarbonStockModel().execute(args)
    except ValidationError as exc:
        _fail(exc.problems)
    doc = {k: getattr(res, k) for k in ("storage_bas", "storage_alt", "change", "npv")}
    typer.echo(json.dumps(doc, indent=2))


@app.command()
def run(config: Annotated[Path, typer.Argument(help="assessment config (.toml or .yaml)")]) -> None:
    """Run a whole assessment and write the MRV report (HTML + PDF) and rasters."""
    from govgrid.carbon.engine.assessment import run_assessment

    try:
        res = run_assessment(config, progress=True)
    except ValidationError as exc:
        _fail(exc.problems)
    except ApplicabilityError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    typer.echo(
        f"net creditable: {res.net_creditable_tco2e:,.1f} t CO2e ({res.vintage_start}-{res.vintage_end})"
    )
    typer.echo(f"report: {res.report_html}\n        {res.report_pdf}")


@app.command("demo-data")
def demo_data(out: Annotated[Path, typer.Argument(help="folder for the Junshan demo inputs")]) -> None:
    """Generate the seeded Junshan demo inputs and a config for ``carbon run``."""
    from govgrid.carbon.engine.demo import generate_demo_inputs

    cfg = generate_demo_inputs(out)
    typer.echo(f"demo inputs written (DEMO DATA); config: {cfg}")


if __name__ == "__main__":
    app()
