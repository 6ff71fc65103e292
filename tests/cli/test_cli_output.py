"""``output.emit``: the one place a command chooses between ``--json`` and human output."""

from __future__ import annotations

import json

import pytest
from baas_cli.output import emit


def test_json_prints_the_value_and_never_the_human_output(
        capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[str] = []
    emit({"deleted": "todos", "n": [1, 2]}, True, lambda: shown.append("table"),
         empty="nothing")
    out = capsys.readouterr()
    assert json.loads(out.out) == {"deleted": "todos", "n": [1, 2]}
    assert out.out == '{\n  "deleted": "todos",\n  "n": [\n    1,\n    2\n  ]\n}\n'
    assert shown == [] and out.err == ""


def test_human_output_is_a_message_or_a_printer(capsys: pytest.CaptureFixture[str]) -> None:
    emit({"deleted": "p1"}, False, "Deleted project p1.")
    assert capsys.readouterr().out == "Deleted project p1.\n"
    emit(["x"], False, lambda: print("the table"), empty="No projects yet.")
    assert capsys.readouterr().out == "the table\n"


def test_an_empty_list_prints_the_empty_message(capsys: pytest.CaptureFixture[str]) -> None:
    shown: list[str] = []
    emit([], False, lambda: shown.append("table"), empty="No projects yet.")
    assert capsys.readouterr().out == "No projects yet.\n" and shown == []
    emit([], True, lambda: shown.append("table"), empty="No projects yet.")
    assert capsys.readouterr().out == "[]\n" and shown == []
