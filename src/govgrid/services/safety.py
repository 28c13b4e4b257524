"""The restricted expression and script environment of uploaded BPMN files (no imports, no attribute access).

SpiffWorkflow evaluates gateway conditions, timer expressions and script tasks with Python's `eval`/`exec` by
default: an uploaded BPMN file could run any code. Here every expression and script is checked when a file is
uploaded (`check_expression`, `check_script`: the problems, which the upload reports with the element id) and
run by `RestrictedEnvironment`: expressions through simpleeval with an allow-list of functions, scripts as a
list of plain assignments whose right-hand sides are such expressions. Names are task data (e.g. `form`,
`t_household`); names starting with `_` and Python built-ins outside the allow-list are refused.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from simpleeval import EvalWithCompoundTypes
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from govgrid.core.workdays import default_calendar


def workdays(days: int) -> str:
    """The moment `days` working days from now (weekends and holidays skipped), ISO 8601: for timeDate."""
    n = int(days)
    if not 0 <= n <= 365:
        raise ValueError("workdays(n): n must be 0..365")
    return default_calendar().add_working_days(datetime.now(UTC), n).isoformat()


# The only functions an expression may call.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "round": round,
    "workdays": workdays,
}
CONSTANTS = {"True": True, "False": False, "None": None}
# Python built-ins that are neither allowed functions nor constants: refused by name even as data keys.
FORBIDDEN_NAMES = frozenset(n for n in dir(builtins) if n not in FUNCTIONS and n not in CONSTANTS)
ALLOWED_EXPRESSION_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.IfExp,
    ast.Call,
    ast.Constant,
    ast.Name,
    ast.Load,
    ast.Subscript,
    ast.Slice,
    ast.List,
    ast.Tuple,
    ast.Dict,
    ast.Set,
    ast.And,
    ast.Or,
    ast.Not,
    ast.USub,
    ast.UAdd,
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
    ast.In,
    ast.NotIn,
    ast.Is,
    ast.IsNot,
)
MAX_SOURCE = 2000


class RestrictedCodeError(ValueError):
    """An expression or script uses something outside the allowed environment."""


def _name_problem(name: str) -> str | None:
    if name.startswith("_"):
        return f"不允许以下划线开头的名称 {name} (names starting with _ are not allowed)"
    if name in FORBIDDEN_NAMES:
        return f"不允许使用 {name} (the name {name} is not allowed)"
    return None


def _expression_problems(node: ast.AST) -> list[str]:
    problems: list[str] = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute):
            problems.append(f"不允许访问属性 .{sub.attr} (attribute access is not allowed)")
        elif isinstance(sub, ast.Call):
            func = sub.func
            if not isinstance(func, ast.Name) or func.id not in FUNCTIONS:
                shown = func.id if isinstance(func, ast.Name) else ast.unparse(func)
                problems.append(f"不允许调用 {shown} (only {', '.join(sorted(FUNCTIONS))} may be called)")
            if sub.keywords:
                problems.append("不允许关键字参数 (keyword arguments are not allowed)")
        elif isinstance(sub, ast.Name):
            problem = _name_problem(sub.id)
            if problem:
                problems.append(problem)
        elif not isinstance(sub, ALLOWED_EXPRESSION_NODES):
            problems.append(f"不允许的语法 {type(sub).__name__} (syntax not allowed)")
    return list(dict.fromkeys(problems))


def check_expression(source: str) -> list[str]:
    """Problems of one expression (empty when it may run)."""
    if len(source) > MAX_SOURCE:
        return [f"表达式超过 {MAX_SOURCE} 个字符 (expression too long)"]
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        return [f"表达式语法错误：{exc.msg} (syntax error)"]
    return _expression_problems(tree)


def _target_problems(target: ast.AST) -> list[str]:
    node = target
    while isinstance(node, ast.Subscript):
        node = node.value
    if not isinstance(node, ast.Name):
        return ["只能给任务数据中的名称赋值 (only task data names can be assigned)"]
    problems = _expression_problems(ast.Expression(body=ast.Name(id=node.id, ctx=ast.Load())))
    if isinstance(target, ast.Subscript):
        problems += _expression_problems(ast.Expression(body=target.slice))
    return problems


def check_script(source: str) -> list[str]:
    """Problems of a script task's script: only assignments (`x = ...`, `x['k'] = ...`)."""
    if len(source) > MAX_SOURCE * 5:
        return ["脚本过长 (script too long)"]
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return [f"脚本语法错误：{exc.msg}（第 {exc.lineno} 行） (syntax error)"]
    problems: list[str] = []
    for stmt in tree.body:
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            names = ", ".join(a.name for a in stmt.names)
            problems.append(f"不允许导入模块 {names} (imports are not allowed)")
        elif isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                problems += _target_problems(target)
            problems += _expression_problems(ast.Expression(body=stmt.value))
        elif isinstance(stmt, ast.Pass):
            continue
        else:
            problems.append(
                f"第 {stmt.lineno} 行：脚本只能包含赋值语句 "
                f"(line {stmt.lineno}: only assignments are allowed)"
            )
    return list(dict.fromkeys(problems))


def _evaluator(names: dict[str, Any]) -> EvalWithCompoundTypes:
    return EvalWithCompoundTypes(names={**names, **CONSTANTS}, functions=dict(FUNCTIONS))


def evaluate(source: str, names: dict[str, Any]) -> Any:
    """Evaluate an allowed expression over task data (RestrictedCodeError if it is not allowed)."""
    problems = check_expression(source)
    if problems:
        raise RestrictedCodeError("; ".join(problems))
    return _evaluator(names).eval(source.strip())


def execute(source: str, data: dict[str, Any]) -> None:
    """Run an allowed script (assignments only) against task data, changing `data` in place."""
    problems = check_script(source)
    if problems:
        raise RestrictedCodeError("; ".join(problems))
    for stmt in ast.parse(source).body:
        if not isinstance(stmt, ast.Assign):
            continue
        value = _evaluator(data).eval(ast.unparse(stmt.value))
        for target in stmt.targets:
            _assign(target, value, data)


def _assign(target: ast.AST, value: Any, data: dict[str, Any]) -> None:
    if isinstance(target, ast.Name):
        data[target.id] = value
        return
    if not isinstance(target, ast.Subscript):
        raise RestrictedCodeError("只能给任务数据中的名称赋值 (only task data names can be assigned)")
    container = _evaluator(data).eval(ast.unparse(target.value))
    key = _evaluator(data).eval(ast.unparse(target.slice))
    if not isinstance(container, dict | list):
        raise RestrictedCodeError("只能给字典或列表的元素赋值 (only dict or list items can be assigned)")
    container[key] = value


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    """SpiffWorkflow's script environment with the restricted evaluator: no eval, no exec."""

    def __init__(self) -> None:
        super().__init__({})

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Any = None) -> Any:
        """Evaluate a gateway condition or timer expression over the task data."""
        return evaluate(expression, {**dict(context), **dict(external_context or {})})

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        """Run a script task's assignments on the task data."""
        execute(script, context)
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        """Service tasks are not supported: a BPMN file cannot reach the network or the host."""
        raise RestrictedCodeError("不支持服务任务 (service tasks are not supported)")
