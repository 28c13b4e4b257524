"""Typed model specs, problems and the validate-then-execute contract shared by every engine model.

The pattern follows InVEST (natcap): one model per module, a declared spec of inputs with
units and outputs with units and file names, and ``validate(args)`` that reports every problem
with the key of the input it concerns before ``execute`` is allowed to run.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the inputs, tied to the input key it concerns."""

    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}"


class ValidationError(ValueError):
    """Raised by ``execute`` when ``validate`` found problems; carries all of them."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class ApplicabilityError(ValueError):
    """Raised when a methodology is asked to account for a project outside its applicability."""

    def __init__(self, methodology: str, reasons: list[str]):
        self.methodology = methodology
        self.reasons = list(reasons)
        super().__init__(f"{methodology} does not apply: " + "; ".join(self.reasons))


@dataclass(frozen=True)
class InputSpec:
    """Declared input: key, human name, units (None for unitless or paths) and whether required."""

    key: str
    about: str
    units: str | None = None
    required: bool = True


@dataclass(frozen=True)
class OutputSpec:
    """Declared output: file name (or summary key), units, data type and nodata value."""

    name: str
    about: str
    units: str | None = None
    dtype: str | None = None
    nodata: float | None = None


class ArgsModel(BaseModel):
    """Base for typed model arguments: strict about unknown keys so typos become problems."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


A = TypeVar("A", bound=ArgsModel)


def pydantic_problems(exc: PydanticValidationError) -> list[Problem]:
    """Turn a pydantic error into problems keyed by the dotted input location."""
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "args"
        problems.append(Problem(key, err["msg"]))
    return problems


class Model(ABC, Generic[A]):
    """Base of every engine model: parse args into the typed spec, check them, then run."""

    name: ClassVar[str] = "model"
    args_type: ClassVar[type[ArgsModel]] = ArgsModel
    inputs: ClassVar[tuple[InputSpec, ...]] = ()
    outputs: ClassVar[tuple[OutputSpec, ...]] = ()

    def parse(self, args: Mapping[str, Any] | A) -> tuple[A | None, list[Problem]]:
        """Parse raw args into the typed spec; problems instead of exceptions."""
        if isinstance(args, self.args_type):
            return args, []  # type: ignore[return-value]
        try:
            return self.args_type.model_validate(dict(args)), []  # type: ignore[return-value]
        except PydanticValidationError as exc:
            return None, pydantic_problems(exc)

    def check(self, args: A) -> list[Problem]:
        """Model-specific checks on parsed args (files, rasters, tables); override in subclasses."""
        return []

    def validate(self, args: Mapping[str, Any] | A) -> list[Problem]:
        """Return every problem with the inputs at once (an empty list means valid)."""
        parsed, problems = self.parse(args)
        if parsed is None:
            return problems
        return problems + self.check(parsed)

    def execute(self, args: Mapping[str, Any] | A) -> Any:
        """Validate, refuse invalid args with a ``ValidationError``, then run."""
        parsed, problems = self.parse(args)
        if parsed is not None:
            problems += self.check(parsed)
        if problems or parsed is None:
            raise ValidationError(problems)
        return self.run(parsed)

    @abstractmethod
    def run(self, args: A) -> Any:
        """Compute on already validated args."""
