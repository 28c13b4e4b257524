"""The restricted expression and script environment of uploaded BPMN files."""

from __future__ import annotations

import pytest

from govgrid.services import safety


def test_conditions_over_task_data_evaluate():
    assert safety.evaluate("float(form['area_m2']) > 150", {"form": {"area_m2": "200"}}) is True
    assert safety.evaluate("len(items) == 2 and not done", {"items": [1, 2], "done": False}) is True


@pytest.mark.parametrize(
    "source",
    [
        "__import__('os').system('id')",
        "form.__class__",
        "open('/etc/passwd')",
        "eval('1')",
        "getattr(form, 'x')",
        "[x for x in range(3)]",
        "lambda: 1",
        "form.get('a')",
    ],
)
def test_expressions_outside_the_allow_list_are_refused(source):
    assert safety.check_expression(source)
    with pytest.raises(safety.RestrictedCodeError):
        safety.evaluate(source, {"form": {}})


def test_scripts_may_only_assign_allowed_expressions():
    assert any("os" in p for p in safety.check_script("import os\nx = 1"))
    assert safety.check_script("from subprocess import run")
    assert safety.check_script("def f():\n    pass")
    assert safety.check_script("x = ().__class__.__bases__")
    data = {"form": {"area": 200}}
    safety.execute("big = form['area'] > 150\nform['fee'] = min(form['area'], 100)", data)
    assert data == {"form": {"area": 200, "fee": 100}, "big": True}


def test_the_spiffworkflow_environment_uses_the_restricted_evaluator():
    env = safety.RestrictedEnvironment()
    assert env.evaluate("a + 1", {"a": 1}) == 2
    with pytest.raises(safety.RestrictedCodeError):
        env.execute("import os", {})
    with pytest.raises(safety.RestrictedCodeError):
        env.call_service({}, operation_name="x")
