"""The project stands alone: no text in the repository names a file the repository does not have.

Users get this repository and nothing else, so a comment, docstring, test id, message or document that
cites a planning file kept elsewhere (a `spec` folder, a design card, notes, a shared folder next to
the checkout), a numbered section of such a file, or a path or markdown link that does not exist,
points at nothing. The behaviour reference lives in ``docs/reference/`` and cites Microsoft's public
pages. The checker below walks every text file (except version-control, virtual-environment, cache and
build directories) and reports each dangling reference with its file and line; the last tests show
that it catches each kind on a scratch tree.

The patterns are spelled so that this file does not match them itself (``[/]`` for ``/``, ``[.]`` for
``.``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SKIP_DIRS = frozenset(
    [
        ".git",
        ".venv",
        "venv",
        "build",
        "dist",
        "__pycache__",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".hypothesis",
        ".tox",
        "node_modules",
    ]
)
MAX_BYTES = 2_000_000

# References to files that are never part of the repository: the planning folders of the workspace the
# project was written in. Each pattern is spelled so that it does not match its own source line.
FOREIGN = (
    (re.compile(r"(?<![\w/.-])(?:[.][.][/])*(?:shared[/])?spec[/][\w./-]*"), "a file of a spec folder"),
    (re.compile(r"(?<![\w/.-])(?:[.][.][/])*(?:shared[/])?notes[/][\w./-]*"), "a file of a notes folder"),
    (re.compile(r"[.][.][/]shared\b"), "a folder outside the repository"),
    (re.compile(r"\bDESIGN(?:[.]md\b|\s*§)"), "a design card that is not in the repository"),
    (
        re.compile(r"\b(?:bits-(?:core|security)|pywin32[-]api)(?:[.]md)?\b"),
        "a spec file that is not in the repository",
    ),
    (re.compile(r"\bnotes\s*§"), "a notes file that is not in the repository"),
    (re.compile(r"§\s*\d"), "a numbered section of a document that is not in the repository"),
)

# Repository paths mentioned in plain text (root-relative), with an optional #anchor.
PATH_MENTION = re.compile(
    r"(?<![\w./\\-])((?:docs|benchmarks|emulator|tests|migrations|fixtures)[/][\w./-]*\w)(#[\w-]+)?"
)
# A markdown file named without a folder ("states.md#t16"): some .md file of that name must exist, and one
# of them must have the anchor.
BARE_MD = re.compile(r"(?<![\w./\\~-])([\w-]+[.]md)(#[\w-]+)?")
# Markdown links and images [text](target) and reference definitions [id]: target.
MD_LINK = re.compile(r"\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
MD_REFDEF = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.M)
FENCE = re.compile(r"^\s*(```|~~~).*?^\s*\1\s*$", re.M | re.S)
HTML_ID = re.compile(r"""<a\s+[^>]*?(?:id|name)\s*=\s*["']([^"']+)["']""", re.I)
HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$", re.M)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)


@dataclass(frozen=True, order=True)
class Dangling:
    path: str
    line: int
    text: str
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r} — {self.why}"


def text_files(root: Path) -> list[Path]:
    """Every file under ``root`` that decodes as UTF-8 text, outside the skipped directories."""
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            path = Path(folder, name)
            if not path.is_file() or path.stat().st_size > MAX_BYTES:
                continue
            data = path.read_bytes()
            if b"\0" in data:
                continue
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            found.append(path)
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: tags and punctuation dropped, lower case, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """The anchors a markdown file defines: explicit ``<a id=…>`` and heading slugs (with -1, -2 for repeats)."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    found = set(HTML_ID.findall(text))
    seen: dict[str, int] = {}
    for heading in HEADING.findall(text):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return frozenset(found)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _check_target(root: Path, base: Path, target: str, anchor: str | None) -> str | None:
    """Why ``target`` (relative to ``base``) with ``anchor`` is dangling, or None when it resolves."""
    resolved = (base / target).resolve() if target else None
    if resolved is not None:
        try:
            resolved.relative_to(root.resolve())
        except ValueError:
            return "points outside the repository"
        if not resolved.exists():
            return "no such file in the repository"
    if anchor:
        md = resolved if resolved is not None else base
        if md.is_file() and md.suffix == ".md" and anchor not in anchors(md):
            return f"no anchor #{anchor} in {md.relative_to(root.resolve()).as_posix()}"
    return None


def check(root: Path) -> list[Dangling]:
    """Every dangling reference in the text files under ``root``."""
    root = root.resolve()
    problems: list[Dangling] = []
    files = text_files(root)
    by_name: dict[str, list[Path]] = {}
    for path in files:
        if path.suffix == ".md":
            by_name.setdefault(path.name, []).append(path)
    for path in files:
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        for pattern, why in FOREIGN:
            for m in pattern.finditer(text):
                problems.append(Dangling(rel, _line(text, m.start()), m.group(0), why))
        for m in PATH_MENTION.finditer(text):
            target = m.group(1).rstrip(".")
            anchor = m.group(2)[1:] if m.group(2) else None
            why_not = _check_target(root, root, target, anchor)
            if why_not:
                problems.append(Dangling(rel, _line(text, m.start()), m.group(0), why_not))
        for m in BARE_MD.finditer(text):
            candidates = by_name.get(m.group(1), [])
            anchor = m.group(2)[1:] if m.group(2) else None
            if not candidates:
                why = "no markdown file of that name in the repository"
            elif anchor and not any(anchor in anchors(c) for c in candidates):
                why = f"no anchor #{anchor} in any {m.group(1)}"
            else:
                continue
            problems.append(Dangling(rel, _line(text, m.start()), m.group(0), why))
        if path.suffix == ".md":
            prose = FENCE.sub(lambda f: "\n" * f.group(0).count("\n"), text)
            for pattern in (MD_LINK, MD_REFDEF):
                for m in pattern.finditer(prose):
                    link = m.group(1)
                    if EXTERNAL.match(link):
                        continue
                    target, _, anchor = link.partition("#")
                    why_not = _check_target(root, path.parent if target else path, target, anchor or None)
                    if why_not:
                        problems.append(Dangling(rel, _line(prose, m.start()), link, why_not))
    return sorted(set(problems))


# The repository --------------------------------------------------------------------------------------


def test_no_text_in_the_repository_names_a_missing_file() -> None:
    problems = check(ROOT)
    assert not problems, "dangling references:\n" + "\n".join(map(str, problems))


def test_the_readme_links_resolve_and_point_to_the_reference() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = [m.group(1) for m in MD_LINK.finditer(readme) if not EXTERNAL.match(m.group(1))]
    assert links, "the README links to the documentation"
    for page in ("states.md", "return-codes.md", "limits.md", "security.md", "readings.md"):
        assert any(link.startswith(f"docs/reference/{page}") for link in links), page
    for link in links:
        target, _, anchor = link.partition("#")
        assert _check_target(ROOT, ROOT, target, anchor or None) is None, link


def test_the_reference_cites_microsoft_for_its_facts() -> None:
    """Every reference page links to learn.microsoft.com; the transition anchors the code cites exist."""
    ref = ROOT / "docs" / "reference"
    for page in ("states.md", "return-codes.md", "limits.md", "security.md", "readings.md", "interfaces.md"):
        assert "https://learn.microsoft.com/en-us/windows/" in (ref / page).read_text(encoding="utf-8"), page
    assert {f"t{n}" for n in range(1, 34)} <= anchors(ref / "states.md")
    assert {f"t{n:02}" for n in range(1, 55)} <= anchors(ref / "security.md")
    assert {f"a{n}" for n in range(1, 20)} <= anchors(ref / "readings.md")


# The checker on a scratch tree ----------------------------------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """Write ``files`` under ``tmp_path``. A ``~`` is dropped on the way: it breaks up the references
    planted below, so that this file does not contain them itself."""
    for name, body in files.items():
        path = tmp_path / name.replace("~", "")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body.replace("~", ""), encoding="utf-8")
    return tmp_path


GOOD = {
    "README.md": "See [states](do~cs/ref.md#t16), [guide](do~cs/ref.md#a-guide) and <https://example.org>.\n",
    "do~cs/ref.md": '# A guide\n\n| <a id="t16"></a>T16 | x |\n\n[back](../README.md) [self](#a-guide)\n'
    "[ms]: https://learn.microsoft.com/en-us/windows/win32/bits/life-cycle-of-a-bits-job\n",
    "emu~lator/mod.py": '"""T16 (do~cs/ref.md#t16); the module emu~lator/mod.py."""\n',
}


def test_checker_accepts_a_tree_whose_references_resolve(tmp_path: Path) -> None:
    assert check(_tree(tmp_path, GOOD)) == []


@pytest.mark.parametrize(
    ("name", "body", "why"),
    [
        ("emu~lator/a.py", "# facts: spe~c/bits-co~re.md, T16\n", "spec folder"),
        ("emu~lator/b.py", '"""See DESI~GN.md."""\n', "design card"),
        ("emu~lator/c.py", "# as in DESI~GN §~2\n", "design card"),
        ("te~sts/d.py", "# not~es/python-libraries.md\n", "notes folder"),
        ("te~sts/e.py", "# ../sha~red/x\n", "outside the repository"),
        ("te~sts/f.py", '"""bits-secu~rity: T01."""\n', "spec file"),
        ("te~sts/g.py", "ID = 'core §~5.1'\n", "numbered section"),
        ("emu~lator/h.py", "# see do~cs/reference/nowhere.md\n", "no such file"),
        ("emu~lator/i.py", "# T16 (do~cs/ref.md#t99)\n", "no anchor #t99"),
        ("do~cs/j.md", "[gone](miss~ing.md)\n", "no such file"),
        ("do~cs/k.md", "[bad anchor](re~f.md#nope)\n", "no anchor #nope"),
        ("emu~lator/o.py", "# T16 (states.md#t16)\n", "no markdown file of that name"),
        ("emu~lator/p.py", "# T16 (re~f.md#t99)\n", "no anchor #t99 in any"),
        ("do~cs/l.md", "# Title\n\n[here](#elsewhere)\n", "no anchor #elsewhere"),
        ("do~cs/m.md", "[up](../../outside.md)\n", "outside the repository"),
        ("README.md", "[x]: do~cs/absent.md\n", "no such file"),
        ("pyproject.toml", 'readme = "README.md"  # bench~marks/absent.py\n', "no such file"),
    ],
)
def test_checker_reports_each_kind_of_dangling_reference(tmp_path: Path, name: str, body: str, why: str) -> None:
    files = dict(GOOD)
    files[name] = files.get(name, "") + body
    problems = check(_tree(tmp_path, files))
    assert problems, "nothing reported"
    assert {p.path for p in problems} == {name.replace("~", "")}, problems
    assert any(why in p.why for p in problems), problems


def test_checker_skips_virtual_environments_and_binary_files(tmp_path: Path) -> None:
    files = dict(GOOD)
    files[".venv/lib/site.py"] = "# spe~c/bits-co~re.md\n"
    _tree(tmp_path, files)
    (tmp_path / "blob.bin").write_bytes(b"\0 spe~c/x".replace(b"~", b""))
    assert check(tmp_path) == []


def test_checker_ignores_code_blocks_for_links_but_not_for_paths(tmp_path: Path) -> None:
    files = dict(GOOD)
    files["do~cs/n.md"] = "```python\nx = a[0](b)\n```\n\n```sh\ncat do~cs/absent.md\n```\n"
    problems = check(_tree(tmp_path, files))
    assert [p.text for p in problems] == ["do~cs/absent.md".replace("~", "")]
