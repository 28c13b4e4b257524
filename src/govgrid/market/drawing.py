"""双随机 draws that anyone can re-run: the algorithm ``govgrid-market-draw-v1``. Pure: no database, no web.

Before the draw the plan publishes ``commitment = SHA-256(seed)`` (the seed is 64 hex characters; the hash is
taken over those ASCII characters, so ``printf %s SEED | sha256sum`` checks it), ``entities_hash`` and
``inspectors_hash``. After the draw it publishes the seed. Anyone holding the seed, the beacon (an optional
public value named at commitment, e.g. a lottery result announced later, which stops seed grinding), the two
lists and the parameters re-runs :func:`run_draw` and must get the same targets and inspectors.

Canonical lists (what the hashes cover, UTF-8, one line each, ``\\n`` after every line):

- entities sorted by credit code: ``code,class,last`` where class is A-D and ``last`` the ids of the
inspectors of the entity's last inspection, ascending, joined by ``;`` (empty when none);
- inspectors sorted by (group, id): ``id,group,unit,related`` where group is the inspector's department code,
  unit the credit code of the unit the inspector belongs to (may be empty) and ``related`` the credit codes of
  the declared relations (回避关系), ascending, joined by ``;``.

Random numbers: ``key = SHA-256("govgrid-market-draw-v1|" + seed + "|" + beacon)``; two SplitMix64 streams
(constants 0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB) start at the big-endian unsigned
integers of key bytes 0-7 (targets) and 8-15 (inspectors). ``below(n)`` draws the next 64-bit output ``z``
until ``z < 2^64 - (2^64 mod n)`` and returns ``z mod n`` (no bias). Only integer arithmetic: the result is
the same on every machine.

Targets (weighted sampling without replacement, weights by risk class, positive integers; 0 excludes a class):
each class keeps its entities in canonical order. For each of ``sample_size`` picks, class c is chosen with
``below(sum(remaining_c * w_c))`` walking the classes A, B, C, D; then within the class a partial Fisher-Yates
step: ``j = drawn_c + below(n_c - drawn_c)``, swap positions ``drawn_c`` and ``j``, take position ``drawn_c``.
This is exactly sequential sampling with probability proportional to the class weight.

Inspectors (per target in draw order, per group in code order, ``per_group`` inspectors each): an inspector is
in conflict with a target when their unit is the target (same unit), the target is among their declared
relations, or they inspected the target last time; conflicted pairs are never drawn. Each group has a load cap
``ceil(targets * per_group / group_size)``; the group's available list (inspectors under the cap, canonical
order, an inspector reaching the cap is swapped with the last and removed) is sampled with
``available[below(len)]``, retried up to 32 times while the pick is conflicted or already on the target; then
the first-to-last scan of the available list gives the candidates that are allowed, and one is taken with
``below(len(candidates))``; if none is under the cap, the same over the whole group ignoring the cap; if still
none, the draw fails naming the target.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

ALGORITHM = "govgrid-market-draw-v1"
CLASSES = ("A", "B", "C", "D")
DEFAULT_WEIGHTS = {"A": 1, "B": 2, "C": 4, "D": 8}
MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
RETRIES = 32


class DrawInputError(ValueError):
    """The inputs of a draw are not usable (duplicate codes, unknown classes, too few inspectors)."""


@dataclass(frozen=True)
class Inspector:
    """One law-enforcement inspector (执法检查人员) as the draw sees them: ids and codes only, no name."""

    id: int
    group: str
    unit: str = ""
    related: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class EntityList:
    """The entity directory (检查对象名录库) as columns: codes, their classes, their last inspectors."""

    codes: Sequence[str]
    classes: Sequence[str]
    last: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class DrawResult:
    """Targets in draw order, the inspector ids of each target, and the hashes of the inputs."""

    targets: list[str]
    inspectors: list[list[int]]
    entities_hash: str
    inspectors_hash: str


class SplitMix64:
    """The SplitMix64 generator with unbiased bounded integers."""

    def __init__(self, state: int) -> None:
        self.state = state & MASK64

    def next(self) -> int:
        """The next 64-bit output."""
        self.state = (self.state + GOLDEN) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * MIX1) & MASK64
        z = ((z ^ (z >> 27)) * MIX2) & MASK64
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """A uniform integer in [0, n) by rejection."""
        if n <= 0:
            raise ValueError("n must be positive")
        limit = (1 << 64) - ((1 << 64) % n)
        while True:
            z = self.next()
            if z < limit:
                return z % n


def commitment(seed: str) -> str:
    """SHA-256 hex of the seed's ASCII text: what is published before the draw."""
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def draw_key(seed: str, beacon: str = "") -> bytes:
    """The 32-byte key of a draw from the seed and the beacon."""
    return hashlib.sha256(f"{ALGORITHM}|{seed}|{beacon}".encode()).digest()


def sorted_entities(entities: EntityList) -> tuple[np.ndarray, np.ndarray]:
    """Canonical order (by code) of the entity list as byte arrays (codes ``S18``, classes ``S1``); codes must
    be 18 ASCII characters and unique, classes A-D."""
    try:
        codes = np.array(entities.codes, dtype="S")
        classes = np.array(entities.classes, dtype="S")
    except UnicodeEncodeError:
        raise DrawInputError("信用代码和分类只能含 ASCII 字符 (codes and classes must be ASCII)") from None
    if codes.shape != classes.shape or codes.ndim != 1:
        raise DrawInputError("每个主体都要有一个信用风险分类 (every entity needs one class)")
    if codes.size == 0:
        return codes.astype("S18"), classes.astype("S1")
    if codes.dtype.itemsize != 18 or int(np.char.str_len(codes).min()) != 18:
        raise DrawInputError("统一社会信用代码应为 18 位 (credit codes must have 18 characters)")
    bad = ~np.isin(classes, [c.encode() for c in CLASSES])
    if bool(np.any(bad)):
        raise DrawInputError(f"未知的信用风险分类：{classes[bad][0].decode()} (class must be A-D)")
    order = np.argsort(codes, kind="stable")
    codes, classes = codes[order], classes[order].astype("S1")
    same = codes[1:] == codes[:-1]
    if bool(np.any(same)):
        raise DrawInputError(
            f"主体名录中统一社会信用代码重复：{codes[1:][same][0].decode()} (duplicate code)"
        )
    return codes, classes


def entities_hash(codes: np.ndarray, classes: np.ndarray, last: Mapping[str, tuple[int, ...]]) -> str:
    """SHA-256 of the canonical entity list (byte arrays already sorted by code, see ``sorted_entities``)."""
    n = len(codes)
    rows = np.empty((n, 22), dtype=np.uint8)
    if n:
        rows[:, :18] = codes.view(np.uint8).reshape(n, 18)
        rows[:, 18] = rows[:, 20] = ord(",")
        rows[:, 19] = classes.view(np.uint8)
        rows[:, 21] = ord("\n")
    special: dict[int, bytes] = {}
    for code, ids in last.items():
        if not ids:
            continue
        key = code.encode()
        pos = int(np.searchsorted(codes, key))
        if pos < n and codes[pos] == key:
            text = f"{code},{classes[pos].decode()},{';'.join(str(i) for i in sorted(ids))}\n"
            special[pos] = text.encode()
    h = hashlib.sha256()
    start = 0
    for pos in sorted(special):
        h.update(rows[start:pos].tobytes())
        h.update(special[pos])
        start = pos + 1
    h.update(rows[start:].tobytes())
    return h.hexdigest()


def sorted_inspectors(inspectors: Sequence[Inspector]) -> list[Inspector]:
    """Canonical order (group, id); duplicate ids are refused."""
    ordered = sorted(inspectors, key=lambda i: (i.group, i.id))
    ids = [i.id for i in ordered]
    if len(set(ids)) != len(ids):
        raise DrawInputError("执法人员名录中编号重复 (duplicate inspector id)")
    return ordered


def inspectors_hash(ordered: Sequence[Inspector]) -> str:
    """SHA-256 of the canonical inspector list (already sorted)."""
    text = "".join(f"{i.id},{i.group},{i.unit},{';'.join(sorted(i.related))}\n" for i in ordered)
    return hashlib.sha256(text.encode()).hexdigest()


def conflicted(inspector: Inspector, code: str, last: Mapping[str, tuple[int, ...]]) -> bool:
    """True when the inspector must not inspect the entity: same unit, declared relation, last inspector."""
    return inspector.unit == code or code in inspector.related or inspector.id in last.get(code, ())


def draw_targets(
    codes: np.ndarray, classes: np.ndarray, weights: Mapping[str, int], sample_size: int, rng: SplitMix64
) -> list[str]:
    """The weighted sample without replacement, in draw order (see the module's description)."""
    w = {c: int(weights.get(c, 0)) for c in CLASSES}
    if any(v < 0 for v in w.values()):
        raise DrawInputError("抽取权重不能为负 (weights must not be negative)")
    members = {c: np.flatnonzero(classes == c.encode()) for c in CLASSES}
    eligible = sum(len(members[c]) for c in CLASSES if w[c] > 0)
    if sample_size > eligible:
        raise DrawInputError(
            f"抽取数 {sample_size} 超过可抽主体数 {eligible} (sample larger than the directory)"
        )
    drawn = dict.fromkeys(CLASSES, 0)
    picked: list[str] = []
    for _ in range(sample_size):
        total = sum((len(members[c]) - drawn[c]) * w[c] for c in CLASSES)
        r = rng.below(total)
        chosen = CLASSES[-1]
        for c in CLASSES:
            mass = (len(members[c]) - drawn[c]) * w[c]
            if r < mass:
                chosen = c
                break
            r -= mass
        arr, k = members[chosen], drawn[chosen]
        j = k + rng.below(len(arr) - k)
        arr[k], arr[j] = arr[j], arr[k]
        picked.append(codes[arr[k]].decode())
        drawn[chosen] = k + 1
    return picked


def _pick(
    group: list[Inspector],
    available: list[int],
    code: str,
    taken: set[int],
    last: Mapping[str, tuple[int, ...]],
    rng: SplitMix64,
) -> int | None:
    """One allowed inspector index of a group for a target, or None."""

    def allowed(idx: int) -> bool:
        return idx not in taken and not conflicted(group[idx], code, last)

    for _ in range(RETRIES):
        if not available:
            break
        idx = available[rng.below(len(available))]
        if allowed(idx):
            return idx
    candidates = [idx for idx in available if allowed(idx)]
    if not candidates:
        candidates = [idx for idx in range(len(group)) if allowed(idx)]
    if not candidates:
        return None
    return candidates[rng.below(len(candidates))]


def assign_inspectors(
    targets: Sequence[str],
    ordered: Sequence[Inspector],
    per_group: int,
    last: Mapping[str, tuple[int, ...]],
    rng: SplitMix64,
) -> list[list[int]]:
    """The inspectors of each target (see the module's description)."""
    groups: dict[str, list[Inspector]] = {}
    for ins in ordered:
        groups.setdefault(ins.group, []).append(ins)
    if not groups and targets:
        raise DrawInputError("执法人员名录为空 (no inspectors)")
    state = {}
    for name, members in groups.items():
        if len(members) < per_group:
            raise DrawInputError(
                f"{name} 只有 {len(members)} 名执法人员，每户需 {per_group} 名 (too few inspectors)"
            )
        cap = math.ceil(len(targets) * per_group / len(members)) if targets else 0
        state[name] = (cap, [0] * len(members), list(range(len(members))), list(range(len(members))))
    out: list[list[int]] = []
    for code in targets:
        chosen: list[int] = []
        for name in sorted(groups):
            members = groups[name]
            cap, load, available, position = state[name]
            taken: set[int] = set()
            for _ in range(per_group):
                idx = _pick(members, available, code, taken, last, rng)
                if idx is None:
                    raise DrawInputError(
                        f"{name} 没有可派往 {code} 的无回避执法人员 (no inspector without conflict)"
                    )
                taken.add(idx)
                chosen.append(members[idx].id)
                load[idx] += 1
                if load[idx] == cap and position[idx] >= 0:
                    p, tail = position[idx], available[-1]
                    available[p], position[tail] = tail, p
                    available.pop()
                    position[idx] = -1
        out.append(chosen)
    return out


def run_draw(
    *,
    seed: str,
    beacon: str,
    entities: EntityList,
    inspectors: Sequence[Inspector],
    weights: Mapping[str, int],
    sample_size: int,
    per_group: int,
) -> DrawResult:
    """The whole draw: a deterministic function of its arguments."""
    codes, classes = sorted_entities(entities)
    ordered = sorted_inspectors(inspectors)
    key = draw_key(seed, beacon)
    targets = draw_targets(codes, classes, weights, sample_size, SplitMix64(int.from_bytes(key[:8], "big")))
    assigned = assign_inspectors(
        targets, ordered, per_group, entities.last, SplitMix64(int.from_bytes(key[8:16], "big"))
    )
    return DrawResult(
        targets, assigned, entities_hash(codes, classes, entities.last), inspectors_hash(ordered)
    )


def entity_text(entities: EntityList) -> str:
    """The canonical entity list as text (what ``entities_hash`` covers): the snapshot a draw keeps."""
    codes, classes = sorted_entities(entities)
    lines = []
    for code, cls in zip(codes.tolist(), classes.tolist(), strict=True):
        text = code.decode()
        ids = ";".join(str(i) for i in sorted(entities.last.get(text, ())))
        lines.append(f"{text},{cls.decode()},{ids}\n")
    return "".join(lines)


def inspector_text(inspectors: Sequence[Inspector]) -> str:
    """The canonical inspector list as text (what ``inspectors_hash`` covers)."""
    return "".join(
        f"{i.id},{i.group},{i.unit},{';'.join(sorted(i.related))}\n" for i in sorted_inspectors(inspectors)
    )


def _rows(text: str, header: str) -> list[tuple[int, list[str]]]:
    """Numbered comma-separated rows of a list, without blank lines or the header row."""
    out = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        cells = [c.strip() for c in line.split(",")]
        if n == 1 and cells[0].lower().lstrip("\ufeff") == header:
            continue
        out.append((n, cells))
    return out


def _ids(cell: str, n: int) -> tuple[int, ...]:
    """Inspector ids joined by ';'."""
    try:
        return tuple(int(x) for x in cell.split(";") if x.strip())
    except ValueError:
        raise DrawInputError(f"第 {n} 行：执法人员编号应为整数 (line {n}: ids must be integers)") from None


def parse_entities(text: str) -> EntityList:
    """An entity list from its canonical text or a CSV ``credit_code,class,last_inspectors`` (header
    optional)."""
    codes: list[str] = []
    classes: list[str] = []
    last: dict[str, tuple[int, ...]] = {}
    for n, cells in _rows(text, "credit_code"):
        if len(cells) < 2:
            raise DrawInputError(f"第 {n} 行应为 代码,分类[,上次检查人员] (line {n}: code,class[,last])")
        codes.append(cells[0])
        classes.append(cells[1])
        ids = _ids(cells[2], n) if len(cells) > 2 else ()
        if ids:
            last[cells[0]] = ids
    return EntityList(codes, classes, last)


def parse_inspectors(text: str) -> list[Inspector]:
    """An inspector list from its canonical text or a CSV ``id,group,unit,related`` (header optional)."""
    out = []
    for n, cells in _rows(text, "id"):
        if len(cells) < 2:
            raise DrawInputError(
                f"第 {n} 行应为 编号,部门[,单位,关联主体] (line {n}: id,group[,unit,related])"
            )
        try:
            ident = int(cells[0])
        except ValueError:
            raise DrawInputError(
                f"第 {n} 行：执法人员编号应为整数 (line {n}: id must be an integer)"
            ) from None
        unit = cells[2] if len(cells) > 2 else ""
        related = frozenset(x for x in (cells[3].split(";") if len(cells) > 3 else []) if x)
        out.append(Inspector(ident, cells[1], unit, related))
    return out


def first_difference(expected: Sequence[object], actual: Sequence[object], what: str) -> str | None:
    """The first place two lists differ, in words, or None when they are equal."""
    for i, (a, b) in enumerate(zip(expected, actual, strict=False)):
        if a != b:
            return f"{what}[{i}]: published {a!r}, re-run {b!r}"
    if len(expected) != len(actual):
        return f"{what}: published {len(expected)} entries, re-run {len(actual)}"
    return None


def verify(document: Mapping[str, object], entities_text: str, inspectors_text: str) -> str | None:
    """Re-run a published draw from its document and the two lists; the first difference, or None."""
    seed = document.get("seed")
    if not isinstance(seed, str) or not seed:
        return "seed: not published yet (种子尚未公布)"
    if commitment(seed) != document.get("commitment"):
        return (
            f"commitment: SHA-256 of the seed is {commitment(seed)}, published {document.get('commitment')}"
        )
    entities = parse_entities(entities_text)
    inspectors = parse_inspectors(inspectors_text)
    codes, classes = sorted_entities(entities)
    got = entities_hash(codes, classes, entities.last)
    if got != document.get("entities_hash"):
        return f"entities_hash: the entity list hashes to {got}, published {document.get('entities_hash')}"
    got = inspectors_hash(sorted_inspectors(inspectors))
    if got != document.get("inspectors_hash"):
        published = document.get("inspectors_hash")
        return f"inspectors_hash: the inspector list hashes to {got}, published {published}"
    weights = document.get("weights")
    sample_size, per_group = document.get("sample_size"), document.get("per_group")
    if not isinstance(weights, dict) or not isinstance(sample_size, int) or not isinstance(per_group, int):
        return "document: weights, sample_size or per_group missing"
    beacon = document.get("beacon") or ""
    result = run_draw(
        seed=seed,
        beacon=str(beacon),
        entities=entities,
        inspectors=inspectors,
        weights={str(k): int(v) for k, v in weights.items()},
        sample_size=sample_size,
        per_group=per_group,
    )
    targets = document.get("targets")
    assigned = document.get("inspectors")
    if not isinstance(targets, list) or not isinstance(assigned, list):
        return "document: targets or inspectors missing"
    return first_difference(targets, result.targets, "targets") or first_difference(
        [list(a) for a in assigned], result.inspectors, "inspectors"
    )
