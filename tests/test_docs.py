"""The Markdown's relative links and anchors lead somewhere, and the README stays a front page.

Links are read the way GitHub renders them: outside fenced code and inline code, a target
relative to the file that holds it, an anchor matched against the GitHub slugs of the
target's headings. External links are not followed (there may be no network).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 250

FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).*?\1")
# [text](target) and ![alt](target), with an optional "title"; text may hold one level of [].
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose_lines(text: str) -> list[str]:
    """Each line, or "" for a line of fenced code or a fence itself."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its rendered text, lower case, punctuation dropped."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link reads as its text
    text = text.replace("`", "").lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's slug in a Markdown file, repeats numbered as GitHub numbers them."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        m = HEADING.match(line)
        if not m:
            continue
        base = slug(m.group(2))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


def dead_links(path: Path) -> list[str]:
    """What is wrong with each relative link in one Markdown file, as 'file:line: why'."""
    problems = []
    for number, line in enumerate(prose_lines(path.read_text(encoding="utf-8")), 1):
        for target in LINK.findall(CODE_SPAN.sub("", line)):
            if EXTERNAL.match(target):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / unquote(file_part)).resolve() if file_part else path
            where = f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{number}"
            if not dest.exists():
                problems.append(f"{where}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and unquote(anchor) not in anchors(dest):
                problems.append(f"{where}: {target} (no such heading)")
    return problems


def markdown_files() -> list[Path]:
    """The repository's own Markdown: at the top, in docs/, src/ and tests/ (no .venv)."""
    files = sorted(ROOT.glob("*.md"))
    for top in ("docs", "src", "tests"):
        files += sorted(
            p
            for p in (ROOT / top).rglob("*.md")
            if not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
        )
    return files


def test_every_relative_link_and_anchor_leads_somewhere() -> None:
    files = markdown_files()
    assert {ROOT / "README.md", ROOT / "docs" / "quality.md"} <= set(files)
    problems = [problem for f in files for problem in dead_links(f)]
    assert problems == []


def test_the_readme_is_a_front_page() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES


def test_a_dead_link_or_anchor_is_reported(tmp_path: Path) -> None:
    (tmp_path / "other.md").write_text("# Sharing a server\n\n## `citeqa bench --ui`\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top: a (heading)\n"
        "[ok](other.md#sharing-a-server) [ok](#top-a-heading) [ok](other.md#citeqa-bench---ui)\n"
        "![gone](missing.png) [gone](other.md#sharing) [web](https://example.com/x)\n"
        "```\n[in code](nowhere.md)\n```\n"
        "`[inline](nowhere.md)` [gone](#nowhere)\n"
    )
    assert dead_links(page) == [
        f"{page}:3: missing.png (no such file)",
        f"{page}:3: other.md#sharing (no such heading)",
        f"{page}:7: #nowhere (no such heading)",
    ]


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("SQuAD: a benchmark nobody here wrote", "squad-a-benchmark-nobody-here-wrote"),
        ("Approximate search, chosen on real data", "approximate-search-chosen-on-real-data"),
        ("Documents as people keep them (HTML, PDF)", "documents-as-people-keep-them-html-pdf"),
        ("[Quality](docs/quality.md) and `make test-all`", "quality-and-make-test-all"),
    ],
)
def test_headings_slug_as_github_slugs_them(heading: str, expected: str) -> None:
    assert slug(heading) == expected
