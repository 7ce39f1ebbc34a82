"""The README's excerpts of `lepton-infra plan --format ...` and `lepton-infra diff` are what the commands print today.

An excerpt is a fenced block whose first line is the command (``$ lepton-infra ...``, or after ``%% `` in a Mermaid
block, or in an HTML comment in a Markdown one); earlier ``$`` lines with ``> FILE`` write files the command reads.
Every other line of the block, ``…`` aside (lines left out), must be a line of the real output, in the same order.
When the plan changes, rerun the commands and paste the new lines.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from plan_cli_support import ROOT, run_cli

README = ROOT / "README.md"
COMMAND = re.compile(r"^(?:%% |<!-- )?\$ (lepton-infra .*?)(?: -->)?$")
ELIDED = "…"


def excerpts() -> list[tuple[list[str], list[str]]]:
    """(command lines, expected output lines) of every excerpt block in the README."""
    found = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", README.read_text(), flags=re.S):
        lines = block.splitlines()
        commands = []
        while lines and COMMAND.match(lines[0]):
            commands.append(COMMAND.match(lines.pop(0)).group(1))
        if commands:
            found.append((commands, lines))
    return found


def test_the_readme_has_an_excerpt_of_every_format_and_of_diff():
    commands = [" ".join(c) for c, _ in excerpts()]
    for name in ("--format json", "--format yaml", "--format mermaid", "--format markdown", "lepton-infra diff"):
        assert any(name in c for c in commands), name
    assert any(c == ["lepton-infra plan dev"] for c, _ in excerpts())  # the table, the default


@pytest.mark.parametrize("index", range(len(excerpts())), ids=lambda i: excerpts()[i][0][-1])
def test_each_excerpt_is_what_the_command_prints(index, tmp_path, monkeypatch):
    commands, expected = excerpts()[index]
    monkeypatch.chdir(ROOT)
    for command in commands:
        argv = shlex.split(command)[1:]
        target = None
        if ">" in argv:
            argv, target = argv[: argv.index(">")], argv[argv.index(">") + 1]
        # Files named in the commands live in a temporary folder; the output names them as the README does.
        argv = [str(tmp_path / a) if a.endswith(".json") else a for a in argv]
        code, out, err = run_cli(*argv)
        assert code in (0, 1), err
        if target:
            (tmp_path / target).write_text(out)
    printed = out.replace(f"{tmp_path}/", "").splitlines()
    position = 0
    for line in expected:
        if line == ELIDED:
            continue
        assert line in printed[position:], f"{commands[-1]}: the README shows {line!r}, the command no longer prints it (in this order)"
        position = printed.index(line, position) + 1
