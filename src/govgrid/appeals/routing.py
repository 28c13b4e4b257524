"""Routing: classify the text, locate the concern, propose the responsible unit (最小服务节点 first)."""

from __future__ import annotations

import io
import logging
import pickle
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from govgrid.appeals import categories
from govgrid.appeals.models import ClassifierModel, Ticket
from govgrid.core.departments.models import Department
from govgrid.core.divisions import service as divisions
from govgrid.core.divisions.models import Division
from govgrid.core.errors import ValidationFailed

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------------------------- classification


def tokenize(text: str) -> list[str]:
    """jieba tokens without whitespace (module-level so a fitted pipeline pickles)."""
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


@dataclass
class Classification:
    """The proposed category, how sure we are, and which method said so."""

    code: str
    confidence: float
    source: str  # rules, model, reporter
    top: list[tuple[str, float]]


_model_lock = threading.Lock()
MODEL_CHECK_SECONDS = 30.0  # a newly trained model is picked up within this time
_model_cache: dict[str, Any] = {"id": None, "pipeline": None, "checked_at": None, "active_id": None}


def forget_model() -> None:
    """Drop the cached model (after training; tests)."""
    _model_cache.update(id=None, pipeline=None, checked_at=None, active_id=None)


def _active_pipeline(session: Session) -> Any:
    """The active fitted pipeline (cached by id; re-checked when the active model changes)."""
    now = time.monotonic()
    if _model_cache["checked_at"] is not None and now - _model_cache["checked_at"] < MODEL_CHECK_SECONDS:
        model_id = _model_cache["active_id"]
    else:
        model_id = session.scalar(
            select(ClassifierModel.id)
            .where(ClassifierModel.active.is_(True))
            .order_by(ClassifierModel.id.desc())
            .limit(1)
        )
        _model_cache["active_id"], _model_cache["checked_at"] = model_id, now
    if model_id is None:
        return None
    with _model_lock:
        if _model_cache["id"] != model_id or _model_cache["pipeline"] is None:
            blob = session.scalar(select(ClassifierModel.blob).where(ClassifierModel.id == model_id))
            if blob is None:  # deactivated or removed meanwhile
                forget_model()
                return None
            _model_cache["pipeline"] = pickle.loads(blob)  # our own database: trusted
            _model_cache["id"] = model_id
        return _model_cache["pipeline"]


def classify_rules(text: str) -> Classification:
    """Keyword rules: the cold-start classifier and the fallback."""
    scores = categories.keyword_scores(text)
    if not scores:
        return Classification(categories.DEFAULT_CATEGORY, 0.0, "rules", [(categories.DEFAULT_CATEGORY, 0.0)])
    total = sum(scores.values())
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    top = [(c, n / total) for c, n in ranked[:3]]
    return Classification(top[0][0], top[0][1], "rules", top)


def classify(session: Session, text: str, *, min_confidence: float = 0.35) -> Classification:
    """The trained model when there is one and it is confident enough, otherwise the keyword rules."""
    pipeline = _active_pipeline(session)
    if pipeline is not None:
        proba = pipeline.predict_proba([text])[0]
        order = np.argsort(-proba)[:3]
        classes = pipeline.classes_
        top = [(str(classes[i]), float(proba[i])) for i in order]
        if top[0][1] >= min_confidence:
            return Classification(top[0][0], top[0][1], "model", top)
    return classify_rules(text)


@dataclass
class TrainReport:
    """What `train_classifier` fitted and how it scored on later months."""

    model_id: int | None
    n_train: int
    n_test: int
    split_month: str
    macro_f1: float
    top3_accuracy: float
    rules_macro_f1: float
    override_rate: float
    labels: list[str]


def _month(dt: datetime) -> str:
    return dt.astimezone(divisions_tz()).strftime("%Y-%m")


def divisions_tz():
    from govgrid.core.workdays import SHANGHAI

    return SHANGHAI


def train_classifier(
    session: Session, *, test_fraction: float = 0.2, activate: bool = True, min_labelled: int = 50
) -> TrainReport:
    """Fit jieba + TF-IDF + logistic regression on dispatcher-confirmed tickets; score on the latest months."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score
    from sklearn.pipeline import Pipeline

    rows = session.execute(
        select(Ticket.description, Ticket.category_code, Ticket.created_at, Ticket.category_source)
        .where(Ticket.category_confirmed.is_(True))
        .order_by(Ticket.created_at, Ticket.id)
    ).all()
    if len(rows) < min_labelled:
        raise ValidationFailed(
            f"已确认类别的工单只有 {len(rows)} 件，至少需要 {min_labelled} 件才能训练 "
            f"(only {len(rows)} dispatcher-confirmed tickets; need {min_labelled})"
        )
    months = sorted({_month(r[2]) for r in rows})
    if len(months) < 2:
        raise ValidationFailed(
            "需要至少两个月的已确认工单以按时间切分 (need at least two months of labelled tickets "
            "for a time split)"
        )
    # Time split: the latest months (about test_fraction of tickets) are the test set.
    per_month = Counter(_month(r[2]) for r in rows)
    acc, split = 0, months[-1]
    for m in reversed(months[1:]):
        acc += per_month[m]
        split = m
        if acc >= test_fraction * len(rows):
            break
    train = [r for r in rows if _month(r[2]) < split]
    test = [r for r in rows if _month(r[2]) >= split]
    pipe = Pipeline(
        [
            (
                "tfidf",
                TfidfVectorizer(
                    tokenizer=tokenize,
                    token_pattern=None,
                    lowercase=False,
                    ngram_range=(1, 2),
                    min_df=1,
                    sublinear_tf=True,
                ),
            ),
            ("clf", LogisticRegression(max_iter=1000, C=5.0)),
        ]
    )
    pipe.fit([r[0] for r in train], [r[1] for r in train])
    y_true = [r[1] for r in test]
    proba = pipe.predict_proba([r[0] for r in test])
    classes = list(pipe.classes_)
    pred = [classes[i] for i in proba.argmax(axis=1)]
    top3 = np.argsort(-proba, axis=1)[:, :3]
    top3_hits = sum(1 for i, y in enumerate(y_true) if y in {classes[j] for j in top3[i]})
    labels = sorted(set(y_true) | set(pred))
    macro = float(f1_score(y_true, pred, labels=labels, average="macro", zero_division=0))
    rules_pred = [classify_rules(r[0]).code for r in test]
    rules_macro = float(
        f1_score(
            y_true, rules_pred, labels=sorted(set(y_true) | set(rules_pred)), average="macro", zero_division=0
        )
    )
    # The human override rate of the category: the share of confirmed tickets whose category a dispatcher changed.
    override_rate = sum(1 for r in rows if r[3] == "dispatcher") / len(rows)
    report = TrainReport(
        None,
        len(train),
        len(test),
        split,
        macro,
        top3_hits / max(len(test), 1),
        rules_macro,
        override_rate,
        labels,
    )
    if activate:
        buf = io.BytesIO()
        pickle.dump(pipe, buf)
        for old in session.scalars(select(ClassifierModel).where(ClassifierModel.active.is_(True))):
            old.active = False
        model = ClassifierModel(
            blob=buf.getvalue(),
            active=True,
            metrics={
                "n_train": report.n_train,
                "n_test": report.n_test,
                "split_month": split,
                "macro_f1": macro,
                "top3_accuracy": report.top3_accuracy,
                "rules_macro_f1": rules_macro,
                "category_override_rate": override_rate,
                "labels": labels,
            },
        )
        session.add(model)
        session.flush()
        report.model_id = model.id
        forget_model()
    return report


# --------------------------------------------------------------------------------------------- location


@dataclass
class Location:
    """Where a concern is: the deepest division and how we know."""

    division: Division
    lon: float | None
    lat: float | None
    source: str  # point, address, channel


CACHE_SECONDS = 60.0  # divisions and departments change rarely; a minute of staleness is harmless
_named_cache: dict[str, tuple[float, list]] = {}
_dept_cache: dict[str, tuple[float, int]] = {}


def clear_caches() -> None:
    """Forget cached division names and department ids (after reorganisations; tests)."""
    _named_cache.clear()
    _dept_cache.clear()


def _named_divisions(session: Session, root: Division) -> list[tuple[str, str, str, str]]:
    """(code, name, level, parent_code) of townships and villages below a division (cached for a minute)."""
    hit = _named_cache.get(root.code)
    if hit is None or time.monotonic() - hit[0] > CACHE_SECONDS:
        rows = [
            tuple(r)
            for r in session.execute(
                select(Division.code, Division.name, Division.level, Division.parent_code)
                .where(Division.path.like(root.path + "%"), Division.level.in_(("township", "village")))
                .order_by(Division.code)
            )
        ]
        hit = (time.monotonic(), rows)
        _named_cache[root.code] = hit
    return hit[1]


def resolve_address(session: Session, address: str, root: Division) -> Division | None:
    """The deepest division named in an address, searching below `root` (township + village names)."""
    named = _named_divisions(session, root)
    towns = [r for r in named if r[2] == "township" and r[1] in address]
    town_codes = {t[0] for t in towns}
    villages = [r for r in named if r[2] == "village" and r[1] in address]
    if town_codes:
        in_town = [v for v in villages if v[3] in town_codes]
        code = in_town[0][0] if in_town else sorted(town_codes)[0]
    elif len(villages) == 1:
        code = villages[0][0]
    else:
        return None  # no name, or a village name shared by several townships: ambiguous
    return session.get(Division, code)


def locate(
    session: Session,
    *,
    lon: float | None,
    lat: float | None,
    address: str | None,
    default_division_code: str | None,
    text: str | None = None,
) -> Location:
    """Resolve a point or an address to the deepest division (village or grid cell)."""
    if (lon is None) != (lat is None):
        raise ValidationFailed(
            "经纬度须同时提供 (give both longitude and latitude)",
            details=[{"loc": ["lon" if lon is None else "lat"], "msg": "missing"}],
        )
    if lon is not None and lat is not None:
        div = divisions.locate(session, lon, lat)
        if div is None:
            raise ValidationFailed(
                f"坐标 ({lon}, {lat}) 不在任何行政区划内 (the point lies outside every division)",
                details=[{"loc": ["lon"], "msg": "outside every division"}],
            )
        if div.level in ("national", "province", "city"):
            raise ValidationFailed(
                "坐标不在本平台管辖的区县内 (the point is not inside a county served here)",
                details=[{"loc": ["lon"], "msg": f"only located to {div.level} {div.code}"}],
            )
        return Location(div, lon, lat, "point")
    root = session.get(Division, default_division_code) if default_division_code else None
    if address and address.strip():
        found = resolve_address(session, address, root) if root is not None else None
        if found is not None:
            return Location(found, None, None, "address")
    if text and root is not None:
        # a message without a point or address often names the place in its text
        found = resolve_address(session, text, root)
        if found is not None:
            return Location(found, None, None, "text")
    if root is not None and root.level not in ("national", "province", "city"):
        return Location(root, None, None, "channel")
    raise ValidationFailed(
        "无法确定诉求位置：请提供坐标，或包含乡镇/村名称的地址 (cannot locate the concern: give a point, "
        "or an address naming the township/village)",
        details=[{"loc": ["address"], "msg": "unresolved"}],
    )


# --------------------------------------------------------------------------------------------- responsible unit


def lineage(div: Division) -> dict[str, str]:
    """{'county': code, 'township': code, 'village': code} from a division's path (codes by length)."""
    out = {}
    for code in div.path.strip("/").split("/"):
        if len(code) == 6 and code != "000000" and not code.endswith("0000"):
            out["county"] = code
        elif len(code) == 6 and code.endswith("00") and not code.endswith("0000"):
            out.setdefault("city", code)
        elif len(code) == 9:
            out["township"] = code
        elif len(code) == 12:
            out["village"] = code
    if "county" not in out and len(div.code) >= 6:
        out["county"] = div.code[:6]
    return out


def department_id(session: Session, code: str) -> int | None:
    """A department id by code (found ids cached for a minute)."""
    hit = _dept_cache.get(code)
    if hit is not None and time.monotonic() - hit[0] <= CACHE_SECONDS:
        return hit[1]
    found = session.scalar(select(Department.id).where(Department.code == code))
    if found is not None:
        _dept_cache[code] = (time.monotonic(), found)
    return found


def propose_unit(session: Session, div: Division, category_code: str) -> int | None:
    """The responsible department: the line department when the category needs it, else village, township, county."""
    cat = categories.get(category_code) or categories.get(categories.DEFAULT_CATEGORY)
    lin = lineage(div)
    candidates: list[str] = []
    if cat.line and "county" in lin:
        candidates.append(f"{lin['county']}-{cat.line}")
    for level in ("village", "township", "county"):
        if level in lin:
            candidates.append(f"{lin[level]}-government")
    for code in candidates:
        found = department_id(session, code)
        if found is not None:
            return found
    return None


def superior_of(session: Session, dept: Department) -> int | None:
    """The unit's superior: the government one level up for a village/township, the county government for a bureau."""
    if dept.line_code == "government":
        parent = dept.division.parent_code
        if parent:
            found = department_id(session, f"{parent}-government")
            if found is not None:
                return found
        return dept.parent_id
    found = department_id(session, f"{dept.division_code}-government")
    return found if found is not None else dept.parent_id
