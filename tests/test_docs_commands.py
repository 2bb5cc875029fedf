"""The commands the README and docs/ show parse: every `w2s-theory` / `w2s-empirics` line of their code
blocks, and the inline `w2s-...` commands of their prose, go through the real argument parsers (nothing runs).
A renamed option or command fails here before a reader meets it. Placeholders in capitals (C, G, DIR) are
usage notation: a command written with them is followed by an example that parses."""

import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def documented_commands() -> list[tuple[str, str]]:
    """(where, command line) of every w2s-* command in a fenced block, and of every inline `w2s-... ` span."""
    out = []
    for doc in DOCS:
        text, fenced = doc.read_text(), False
        for n, line in enumerate(text.splitlines(), start=1):
            if line.startswith("```"):
                fenced = not fenced
                continue
            where = f"{doc.name}:{n}"
            if fenced and line.lstrip().startswith("w2s-"):
                out.append((where, line.split("  #")[0].strip()))
            elif not fenced:  # a command named in prose (`w2s-empirics audit`): it exists (its --help)
                for m in re.findall(r"`(w2s-(?:theory|empirics) [^`A-Z]+)`", line):
                    out.append((where, m + " --help" if len(m.split()) == 2 else m))
    return out


def argv_of(command: str) -> tuple[str, list[str]]:
    """The program and its arguments, the usage notation dropped: [optional] parts, and A|B choices as A."""
    command = re.sub(r"\[[^\]]*\]", "", command)
    words = shlex.split(command)
    return words[0], [w.split("|")[0] for w in words[1:] if w != "..."]


COMMANDS = documented_commands()


def test_the_docs_show_commands_of_both_clis():
    progs = {argv_of(c)[0] for _, c in COMMANDS}
    assert progs == {"w2s-theory", "w2s-empirics"}
    assert len(COMMANDS) >= 15


@pytest.mark.parametrize(("where", "command"), COMMANDS, ids=[w for w, _ in COMMANDS])
def test_a_documented_command_parses(where, command, capsys):
    prog, argv = argv_of(command)
    if prog == "w2s-empirics":
        pytest.importorskip("torch")
        from empirics.cli import build_parser
    else:
        from theory.cli import build_parser
    code = 0
    try:
        build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's usage error (or a --help that prints and exits 0)
        code = exc.code
    assert code == 0, f"{where}: {command!r} does not parse: {capsys.readouterr().err.strip()}"
