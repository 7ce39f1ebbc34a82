"""The README's two set-up commands, read from README.md so CI runs exactly what a newcomer is told to run.

    python3 .ci/readme_commands.py test            the tests line, verbatim
    python3 .ci/readme_commands.py test-install    its set-up part (everything before the last ' && ')
    python3 .ci/readme_commands.py test-run        its last part: the test command
    python3 .ci/readme_commands.py main            the main-job line, verbatim
    python3 .ci/readme_commands.py torch-version   the torch release the tests line installs first

The lines are the ones under the comments '# tests' and '# main job' in the README's first bash block.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
MARKERS = {"test": "# tests", "main": "# main job"}


def commands(readme: Path = README) -> dict[str, str]:
    """{'test': line, 'main': line} from the first ```bash block; an error naming what is missing otherwise."""
    block = re.search(r"```bash\n(.*?)```", readme.read_text(), flags=re.S)
    if block is None:
        raise SystemExit(f"{readme}: no ```bash block with the set-up commands")
    lines = block.group(1).splitlines()
    found = {}
    for key, marker in MARKERS.items():
        index = next((i for i, line in enumerate(lines) if line.startswith(marker)), None)
        if index is None or index + 1 >= len(lines) or not lines[index + 1].strip():
            raise SystemExit(f"{readme}: the first bash block needs a command line under a comment starting {marker!r}")
        found[key] = lines[index + 1].strip()
    return found


def split(line: str) -> tuple[str, str]:
    """(set-up, last command) of an '&&' chain."""
    setup, _, last = line.rpartition(" && ")
    return setup, last


def torch_version(line: str) -> str:
    match = re.search(r"torch==([0-9][0-9.]*)", line)
    if match is None:
        raise SystemExit("the tests line installs no pinned torch (torch==X.Y.Z) before the project")
    return match.group(1)


def main(argv: list[str]) -> int:
    what = argv[1] if len(argv) > 1 else ""
    found = commands()
    answers = {
        "test": found["test"],
        "test-install": split(found["test"])[0],
        "test-run": split(found["test"])[1],
        "main": found["main"],
        "torch-version": torch_version(found["test"]),
    }
    if what not in answers:
        print(__doc__, file=sys.stderr)
        return 2
    print(answers[what])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
