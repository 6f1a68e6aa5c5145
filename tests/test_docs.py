"""The docs agree with the repository and with themselves.

- Every relative link of README.md and docs/*.md reaches a file of the
  repository, and a heading of it where the link names one (``#anchor``,
  by GitHub's rule).
- Every number of README.md's "Results" section is quoted from the doc that
  states it: each table row and paragraph there that holds a number links
  to at least one doc (``docs/X.md`` or a section ``docs/X.md#anchor``),
  and each of its numbers appears in the text of the linked section (to
  the next heading of the same or a higher level). A table's header row
  counts as part of each of its rows. Numbers inside code spans and link
  targets are not quotes (config names, paths).
"""

import re
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

ROOT = Path(__file__).parents[1]
README = ROOT / 'README.md'
DOCUMENTS = [README, *sorted((ROOT / 'docs').glob('*.md'))]
RESULTS_HEADING = 'Results'

FENCE = re.compile(r'^\s*(```|~~~)')
HEADING = re.compile(r'^(#{1,6})\s+(.*?)\s*#*\s*$')
CODE_SPAN = re.compile(r'(`+)(.+?)\1')
# [text](target) and ![alt](target); the text may hold one level of [...]
LINK = re.compile(r'(!?)\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^()\s>]*)>?\)')
HTML_LINK = re.compile(r'<(?:img|a)\b[^>]*?\b(?:src|href)="([^"]+)"')
# 12, 0.718, 2.14.1, 1e-4; not the digits inside another word's number
NUMBER = re.compile(r'(?<![\d.])\d+(?:\.\d+)*(?:e-?\d+)?')
EXTERNAL = ('http://', 'https://', 'mailto:')


def prose_lines(text: str) -> List[Tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def github_anchor(title: str) -> str:
    """The anchor GitHub gives a heading: its text without markup,
    lowercase, punctuation dropped (hyphens and underscores kept), spaces
    turned into hyphens."""
    text = LINK.sub(lambda m: m.group(2), title)
    text = CODE_SPAN.sub(lambda m: m.group(2), text)
    text = re.sub(r'[^\w\- ]', '', text.lower())
    return text.replace(' ', '-')


def sections(text: str) -> Dict[str, str]:
    """Each heading's anchor -> its section's text: from the heading to the
    next heading of the same or a higher level (subsections included).
    Repeated anchors get GitHub's ``-1``, ``-2``, ... suffixes."""
    lines = text.splitlines()
    headings = []  # (line index, level, anchor)
    seen: Dict[str, int] = {}
    for number, line in prose_lines(text):
        match = HEADING.match(line)
        if match:
            anchor = github_anchor(match.group(2))
            if anchor in seen:
                seen[anchor] += 1
                anchor = f'{anchor}-{seen[anchor]}'
            else:
                seen[anchor] = 0
            headings.append((number - 1, len(match.group(1)), anchor))
    result = {}
    for i, (start, level, anchor) in enumerate(headings):
        end = next(
            (s for s, lv, _ in headings[i + 1 :] if lv <= level), len(lines)
        )
        result[anchor] = '\n'.join(lines[start:end])
    return result


def links(line: str) -> List[str]:
    """The link targets of a line of markdown, outside code spans."""
    line = CODE_SPAN.sub('', line)
    return [m.group(3) for m in LINK.finditer(line)] + HTML_LINK.findall(line)


def numbers(text: str) -> Set[str]:
    return set(NUMBER.findall(text))


def quoted_numbers(text: str) -> Set[str]:
    """The numbers of README text: outside code spans and link targets."""
    text = LINK.sub(lambda m: m.group(2), text)
    return numbers(CODE_SPAN.sub('', text))


def broken_links(document: Path, root: Path = ROOT) -> List[str]:
    """'FILE:LINE: TARGET: why' for every relative link that does not reach
    a file (or a heading of it) inside ``root``."""
    broken = []
    name = document.relative_to(root).as_posix()
    for number, line in prose_lines(document.read_text()):
        for target in links(line):
            if not target or target.startswith(EXTERNAL):
                continue
            path, _, anchor = target.partition('#')
            file = (document.parent / path).resolve() if path else document
            where = f'{name}:{number}: {target}'
            if not file.is_relative_to(root.resolve()) or not file.exists():
                broken.append(f'{where}: no such file')
            elif anchor and file.suffix == '.md':
                if anchor not in sections(file.read_text()):
                    broken.append(f'{where}: no heading with that anchor')
    return broken


def section_text(document: Path, heading: str) -> str:
    """The text under a heading of ``document``, given by its title."""
    text = sections(document.read_text()).get(github_anchor(heading))
    assert text is not None, f'{document.name} has no heading {heading!r}'
    return text


def units(section: str) -> List[Tuple[str, str]]:
    """(unit, context) pairs of a markdown section: each table row with its
    table's header row as context, and each paragraph (no context).
    Headings and code blocks are left out."""
    result, paragraph, header = [], [], None
    for _, line in prose_lines(section) + [(0, '')]:
        stripped = line.strip()
        if stripped.startswith('|'):
            if paragraph:
                result.append((' '.join(paragraph), ''))
                paragraph = []
            if header is None:
                header = stripped
            elif not set(stripped) <= set('|-: '):
                result.append((stripped, header))
            continue
        header = None
        if not stripped or HEADING.match(stripped):
            if paragraph:
                result.append((' '.join(paragraph), ''))
            paragraph = []
        else:
            paragraph.append(stripped)
    return result


def unquoted_numbers(readme: Path, heading: str, root: Path = ROOT):
    """For each table row or paragraph under ``heading`` of ``readme`` that
    holds numbers: why it is not quoted from the docs it links to, if it is
    not. Returns a list of messages naming the row."""
    problems = []
    for unit, context in units(section_text(readme, heading)):
        wanted = quoted_numbers(unit) | quoted_numbers(context)
        if not wanted:
            continue
        targets = [
            t
            for t in links(unit)
            if not t.startswith(EXTERNAL) and t.partition('#')[0]
        ]
        docs = [t for t in targets if t.partition('#')[0].endswith('.md')]
        if not docs:
            problems.append(
                f'{unit!r} holds numbers {sorted(wanted)} but links no doc '
                'section that states them'
            )
            continue
        stated = set()
        for target in docs:
            path, _, anchor = target.partition('#')
            file = (readme.parent / path).resolve()
            if not file.exists():
                continue  # reported by the link check
            text = file.read_text()
            if anchor:
                text = sections(text).get(anchor, '')
            stated |= numbers(text)
        missing = sorted(wanted - stated)
        if missing:
            problems.append(
                f'{unit!r}: {missing} not in the linked {", ".join(docs)}'
            )
    return problems


@pytest.mark.parametrize(
    'document',
    DOCUMENTS,
    ids=[d.relative_to(ROOT).as_posix() for d in DOCUMENTS],
)
def test_relative_links_reach_files_and_headings(document):
    assert broken_links(document) == []


def test_every_results_number_is_quoted_from_the_doc_it_links():
    problems = unquoted_numbers(README, RESULTS_HEADING)
    assert not problems, '\n'.join(
        ['README.md "Results": quote each number from a linked doc:']
        + problems
    )


def test_readme_is_at_most_250_lines():
    assert len(README.read_text().splitlines()) <= 250


@pytest.mark.parametrize(
    'title, anchor',
    [
        ('## `tools/test.py`', 'toolstestpy'),
        ('Checkpoints under torch >= 2.6', 'checkpoints-under-torch--26'),
        ("The paper's table", 'the-papers-table'),
        ('`BottomupGrouping` (codec)', 'bottomupgrouping-codec'),
        ('Throughput on an H100: float32 and float16',
         'throughput-on-an-h100-float32-and-float16'),
        ('[Linked](x.md) `code_name` heading', 'linked-code_name-heading'),
    ],
)  # fmt: skip
def test_github_anchor_rule(title, anchor):
    assert github_anchor(title.lstrip('# ')) == anchor


def test_the_checks_name_what_is_wrong(tmp_path):
    (tmp_path / 'docs').mkdir()
    (tmp_path / 'docs' / 'runs.md').write_text(
        '# Runs\n\n## Speed\n\nOne step takes 0.25 s at batch 4.\n\n'
        '## Other\n\nAP 0.755.\n'
    )
    readme = tmp_path / 'README.md'
    readme.write_text(
        '# Tool\n\n## Results\n\n'
        '| run | s/step |\n| --- | --- |\n'
        '| [main](docs/runs.md#speed), batch 4 | 0.25 |\n'
        '| [main](docs/runs.md#speed), batch 4 | 0.43 |\n'
        '| main, batch 4 | 0.25 |\n\n'
        'AP 0.755 ([runs](docs/runs.md#other)); see `cfg_400e.py`.\n\n'
        'AP 0.755 ([runs](docs/runs.md#speed)).\n\n'
        '## Configs\n\n'
        '[gone](docs/gone.md), [no heading](docs/runs.md#nope), '
        '[fine](docs/runs.md#other), [web](https://example.com/x.md)\n'
    )
    problems = unquoted_numbers(readme, 'Results', root=tmp_path)
    assert len(problems) == 3
    assert "0.43 |'" in problems[0] and "['0.43']" in problems[0]
    assert 'links no doc' in problems[1] and '| main, batch 4' in problems[1]
    assert "['0.755']" in problems[2]
    assert 'docs/runs.md#speed' in problems[2]
    assert broken_links(readme, root=tmp_path) == [
        'README.md:17: docs/gone.md: no such file',
        'README.md:17: docs/runs.md#nope: no heading with that anchor',
    ]
