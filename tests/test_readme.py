"""The README's promises: two quick-start commands, and code that runs as written."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_quick_start_has_two_commands():
    text = README.read_text()
    section = text.split("## Quick start", 1)[1]
    block = re.search(r"```\w*\n(.*?)```", section, flags=re.S).group(1)
    commands = [line for line in block.splitlines() if line.strip()]
    assert len(commands) == 2
    assert "pip install" in commands[0] and "avoidrl fit" in commands[0]
    assert "pytest" in commands[1]


def test_fit_and_compare_example_runs(capsys):
    code = _blocks("python")[0]
    assert len([line for line in code.splitlines() if line.strip()]) == 3
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "QLearning+novel" in printed and "Relative+novel" in printed
