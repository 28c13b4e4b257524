"""`govgrid appeals ...`: escalation pass, classifier training, WeChat channels."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from govgrid.core.bootstrap import bootstrap, use_database_secret

app = typer.Typer(
    help="民声诉求 citizen appeals: escalation, classifier training, channels", no_args_is_help=True
)
console = Console()
err = Console(stderr=True)


@app.command("escalate")
def escalate(
    now: Annotated[str | None, typer.Option(help="ISO time with zone (default: now)")] = None,
) -> None:
    """Run one escalation pass: overdue tickets to the superior, then to the supervisor queue."""
    from govgrid.appeals.services import escalation
    from govgrid.core.db import session_scope, utcnow

    bootstrap()
    at = utcnow()
    if now:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            err.print(f"[red]时间格式无效 (invalid time): {now}[/red]")
            raise typer.Exit(2) from None
        if at.tzinfo is None:
            err.print("[red]时间须带时区，如 2026-11-27T09:00:00+08:00 (time needs a zone)[/red]")
            raise typer.Exit(2)
    with session_scope() as session:
        run = escalation.run_escalations(session, now=at)
    console.print(
        f"to superior: {len(run.to_superior)}  to supervisor: {len(run.to_supervisor)}  "
        f"auto-closed: {len(run.auto_closed)}"
    )


@app.command("train")
def train(test_fraction: float = 0.2, activate: bool = True) -> None:
    """Fit jieba + TF-IDF + logistic regression on dispatcher-confirmed tickets; report a time-split score."""
    from govgrid.appeals.services import classifier
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError

    bootstrap()
    try:
        with session_scope() as session:
            rep = classifier.train_classifier(session, test_fraction=test_fraction, activate=activate)
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(2) from None
    console.print(
        f"trained on {rep.n_train} tickets before {rep.split_month}, "
        f"tested on {rep.n_test} from {rep.split_month}"
    )
    console.print(
        f"macro-F1 {rep.macro_f1:.3f}  top-3 accuracy {rep.top3_accuracy:.3f}  "
        f"(keyword rules macro-F1 {rep.rules_macro_f1:.3f}; dispatcher category override rate "
        f"{rep.override_rate:.1%})"
    )
    console.print(
        "[yellow]These figures hold only for this deployment's own labelled history; on the demo "
        "database the history is synthetic and says nothing about real accuracy.[/yellow]"
    )
    if rep.model_id:
        console.print(f"model {rep.model_id} is now active")


@app.command("channel")
def channel(
    channel_id: str, division: str, token: str, aes_key: str, app_id: str, name: str = "微信公众号"
) -> None:
    """Create or update a WeChat Official Account channel (callback /channels/wechat/<id>)."""
    from govgrid.appeals.services import channels
    from govgrid.core.audit.service import SystemActor
    from govgrid.core.db import session_scope
    from govgrid.core.errors import AppError

    # the secrets are sealed with the key the server unseals them with (a demo database's own secret in demo
    # mode)
    use_database_secret(bootstrap())
    try:
        with session_scope() as session:
            channels.ensure_channel(
                session,
                actor=SystemActor("cli"),
                channel_id=channel_id,
                name=name,
                token=token,
                encoding_aes_key=aes_key,
                app_id=app_id,
                division_code=division,
            )
    except AppError as exc:
        err.print(f"[red]{exc.message}[/red]")
        for d in exc.details:
            err.print(f"  {'.'.join(map(str, d['loc']))}: {d['msg']}")
        raise typer.Exit(2) from None
    console.print(f"[green]channel {channel_id} saved[/green]: callback /channels/wechat/{channel_id}")
