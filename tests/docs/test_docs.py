"""The documentation shows only what exists.

Over README.md, every page under docs/ and every Markdown page of the repository they link to:

- every internal link resolves: a relative file (or image) exists, and a ``#anchor`` (same page or
  ``page.md#anchor``) is a heading of that page, slugged the way GitHub does it;
- every ``nuri`` command shown (fenced shell blocks, unlabelled blocks and inline code) is a
  command of the real parser (``assistant.cli._parser``, with the ``nuri.commands`` plugins) and
  every flag it shows is accepted by that subcommand; every ``make`` target is in the Makefile;
  every ``python -m`` module and ``python scripts/….py`` / ``bash scripts/….sh`` file exists;
- every setting (``answer.generation``) and ``NURI_…`` variable named in code spans is in the
  configuration schema;
- README.md stays a front page.

The checker is plain functions over Markdown text, so it is tested on deliberately broken pages
as well; every problem names the file, the line and the link or command.
"""

from __future__ import annotations

import argparse
import functools
import importlib.machinery
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import REPO_ROOT

FRONT_PAGE_MAX_LINES = 200
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console", "zsh"}
#: ``NURI_…`` variables read outside the settings schema (the profile file, the test switches).
OTHER_VARIABLES = {"NURI_CONFIG", "NURI_REQUIRE_VLLM", "NURI_REQUIRE_SHARED_DATA"}
FILE_SUFFIXES = {"py", "md", "yaml", "yml", "json", "jsonl", "db", "txt", "html", "sql", "sh", "toml", "csv", "gguf"}
PREFIX_WORDS = {"sudo", "time", "env", "exec", "nohup", "command"}


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    what: str
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}: {self.text}"


# -- Markdown ---------------------------------------------------------------------------------
@dataclass
class Page:
    """A Markdown page split into fenced code blocks and prose paragraphs (with line numbers)."""

    path: Path
    blocks: list[tuple[str, list[tuple[int, str]]]] = field(default_factory=list)  # (language, lines)
    paragraphs: list[tuple[int, str]] = field(default_factory=list)  # (first line, text)
    headings: list[tuple[int, str]] = field(default_factory=list)


FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.S)
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HTML_LINK = re.compile(r"""<(?:img|a)\b[^>]*?\b(?:src|href)=["']([^"']+)["']""", re.I)
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")


def parse(path: Path, text: str) -> Page:
    page = Page(path)
    lines = text.splitlines()
    i = 0
    paragraph: list[str] = []
    start = 0

    def flush() -> None:
        if paragraph:
            page.paragraphs.append((start, "\n".join(paragraph)))
            paragraph.clear()

    while i < len(lines):
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            flush()
            marker, language = fence.group(1), fence.group(2).lower()
            body: list[tuple[int, str]] = []
            i += 1
            while i < len(lines) and not re.match(rf"^ {{0,3}}{re.escape(marker[0])}{{{len(marker)},}}\s*$", lines[i]):
                body.append((i + 1, lines[i]))
                i += 1
            page.blocks.append((language, body))
            i += 1
            continue
        heading = HEADING.match(line)
        if heading:
            flush()
            page.headings.append((i + 1, heading.group(2)))
            page.paragraphs.append((i + 1, heading.group(2)))
        elif not line.strip():
            flush()
        else:
            if not paragraph:
                start = i + 1
            paragraph.append(line)
        i += 1
    flush()
    return page


def code_spans(page: Page) -> Iterator[tuple[int, str]]:
    """Inline code of the prose: (line, content), content on one line, table escapes undone."""
    for first, text in page.paragraphs:
        for m in CODE_SPAN.finditer(text):
            content = " ".join(m.group(2).replace("\\|", "|").split())
            yield first + text.count("\n", 0, m.start()), content


def links(page: Page) -> Iterator[tuple[int, str]]:
    for first, text in page.paragraphs:
        plain = CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
        for pattern in (LINK, HTML_LINK):
            for m in pattern.finditer(plain):
                yield first + plain.count("\n", 0, m.start()), m.group(1)
        for offset, line in enumerate(plain.split("\n")):
            reference = REFERENCE_LINK.match(line)
            if reference:
                yield first + offset, reference.group(1)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text lower-cased, punctuation (all but ``-`` and ``_``)
    removed, each space a hyphen; Hangul and other letters kept."""
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Page) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for _, heading in page.headings:
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


@functools.cache
def read_page(path: Path) -> Page:
    return parse(path, path.read_text(encoding="utf-8"))


def shown(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def check_links(page: Page, root: Path = REPO_ROOT) -> list[Problem]:
    problems = []
    for line, target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
            continue  # http:, https:, mailto: …
        file_part, _, anchor = target.partition("#")
        dest = (page.path.parent / file_part).resolve() if file_part else page.path
        where = shown(page.path, root)
        if not dest.exists():
            problems.append(Problem(where, line, "link to a missing file", target))
        elif anchor and dest.suffix == ".md" and anchor not in anchors(read_page(dest)):
            problems.append(Problem(where, line, f"no heading #{anchor} in {shown(dest, root)}", target))
    return problems


def linked_pages(start: list[Path], root: Path = REPO_ROOT) -> list[Path]:
    """``start`` and every Markdown page of the repository reachable from it by links."""
    todo, seen = list(start), set()
    while todo:
        path = todo.pop().resolve()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        for _, target in links(read_page(path)):
            file_part = target.partition("#")[0]
            if file_part.endswith(".md") and not re.match(r"^[a-z][a-z0-9+.-]*:", file_part, re.I):
                dest = (path.parent / file_part).resolve()
                if dest.is_relative_to(root):
                    todo.append(dest)
    return sorted(seen)


# -- Commands ---------------------------------------------------------------------------------
@functools.cache
def nuri_parser() -> argparse.ArgumentParser:
    from assistant.cli import _parser

    return _parser()


@functools.cache
def make_targets(makefile: Path = REPO_ROOT / "Makefile") -> frozenset[str]:
    targets: set[str] = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.%/-][A-Za-z0-9_.%/ -]*?)\s*::?(?!=)", line)
        if m:
            targets.update(t for t in m.group(1).split() if not t.startswith("."))
    return frozenset(targets)


def module_exists(name: str, root: Path = REPO_ROOT) -> bool:
    parts = name.split(".")
    if (root / parts[0]).is_dir() or (root / f"{parts[0]}.py").exists():  # the repository's own
        path = root.joinpath(*parts)
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file() or path.is_dir()
    spec = importlib.machinery.PathFinder.find_spec(parts[0])
    for i in range(1, len(parts)):
        if spec is None or not spec.submodule_search_locations:
            return False
        spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: i + 1]), spec.submodule_search_locations)
    return spec is not None


def logical_lines(lines: list[tuple[int, str]]) -> Iterator[tuple[int, str]]:
    """Shell lines with ``\\`` continuations joined and a ``$ `` prompt removed."""
    buffer: list[str] = []
    first = 0
    for number, line in lines:
        if not buffer:
            first = number
            line = re.sub(r"^\s*\$\s+", "", line)
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1])
            continue
        buffer.append(line)
        yield first, " ".join(buffer)
        buffer = []
    if buffer:
        yield first, " ".join(buffer)


def split_commands(text: str) -> list[str]:
    """Simple commands of a shell line: comments cut, ``$(…)`` taken out as commands of their own
    (a placeholder word left in place), split at ``;``, ``&&``, ``||`` and at ``|`` / ``&`` standing
    apart (``--clearance public|internal`` is a value, ``a | b`` a pipe)."""
    out: list[str] = []
    current: list[str] = []
    quote = ""
    i = 0
    while i < len(text):
        c = text[i]
        if quote:
            current.append(c)
            if c == quote:
                quote = ""
        elif c in "'\"":
            quote = c
            current.append(c)
        elif c == "#" and (i == 0 or text[i - 1].isspace()):
            break
        elif text.startswith("$(", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            out.extend(split_commands(text[i + 2 : j - 1]))
            current.append("SUBST")
            i = j
            continue
        elif c == ";" or text.startswith(("&&", "||"), i):
            out.append("".join(current))
            current = []
            i += 1 if c == ";" else 2
            continue
        elif c in "|&" and (i == 0 or text[i - 1].isspace()) and (i + 1 == len(text) or text[i + 1].isspace()):
            out.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    out.append("".join(current))
    return [c.strip() for c in out if c.strip()]


def words(command: str) -> list[str]:
    try:
        tokens = shlex.split(command)
    except ValueError:  # an unbalanced quote inside prose-like code: read it word by word
        tokens = command.split()
    out = []
    skip_next = False
    for token in tokens:
        if skip_next:
            skip_next = False
            continue
        if re.fullmatch(r"\d*(<<?|>>?)(&\d+)?", token):  # a redirection and its target
            skip_next = not token.endswith(tuple("0123456789"))
            continue
        if re.match(r"^\d*[<>]", token):
            continue
        token = token.strip("[]")
        if token and token not in ("…", "...", "|"):
            out.append(token)
    return out


def is_placeholder(token: str) -> bool:
    return bool(
        re.fullmatch(r"[A-Z][A-Z0-9_./-]*", token)
        or "…" in token
        or "..." in token
        or token.startswith("<")
        or token == "SUBST"
    )


def is_option(token: str) -> bool:
    return token.startswith("-") and token not in ("-", "--") and not re.fullmatch(r"-\d+(\.\d+)?", token)


def check_nuri(tokens: list[str]) -> list[str]:
    """What is wrong with ``nuri <tokens>`` (empty: the subcommand path and every flag exist)."""
    parser = nuri_parser()
    path = ["nuri"]
    i = 0
    while True:
        subparsers = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
        if subparsers is None:
            break
        # options of this level before the subcommand (e.g. `nuri -v ask`)
        while i < len(tokens) and is_option(tokens[i]):
            action = parser._option_string_actions.get(tokens[i].split("=")[0])
            if action is None:
                return [f"`{' '.join(path)}` has no option {tokens[i]}"]
            i += 1 if (action.nargs == 0 or "=" in tokens[i]) else 2
        if i >= len(tokens):
            return []  # the group itself (`nuri eval`)
        token = tokens[i]
        if is_placeholder(token):
            return []
        choices = subparsers.choices
        alternatives = token.split("|")
        missing = [a for a in alternatives if a not in choices]
        if missing:
            return [f"`{' '.join(path)}` has no subcommand {missing[0]!r} (it has: {', '.join(choices)})"]
        parser = choices[alternatives[0]]
        path.append(token)
        i += 1
    problems = []
    for token in tokens[i:]:
        if token == "--":
            break
        if is_option(token) and token.split("=")[0] not in parser._option_string_actions:
            problems.append(f"`{' '.join(path)}` has no option {token.split('=')[0]}")
    return problems


def check_command(command: str, root: Path = REPO_ROOT) -> list[str]:
    tokens = words(command)
    while tokens and (re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", tokens[0]) or tokens[0] in PREFIX_WORDS):
        tokens = tokens[1:]
    if not tokens:
        return []
    program, args = tokens[0].rsplit("/", 1)[-1], tokens[1:]
    if program == "nuri":
        return check_nuri(args)
    if program == "make":
        targets = [a for a in args if not a.startswith("-") and "=" not in a and not is_placeholder(a)]
        return [f"no make target {t!r} in the Makefile" for t in targets if t not in make_targets()]
    if re.fullmatch(r"python(3(\.\d+)?)?", program):
        while args and args[0].startswith("-") and args[0] not in ("-m", "-c"):
            args = args[1:]
        if args[:1] == ["-m"] and len(args) > 1 and not is_placeholder(args[1]):
            return [] if module_exists(args[1], root) else [f"no module {args[1]!r}"]
        if args and args[0].endswith(".py") and not (root / args[0]).is_file():
            return [f"no script {args[0]!r}"]
    if program in ("bash", "sh") and args and args[0].endswith(".sh") and not (root / args[0]).is_file():
        return [f"no script {args[0]!r}"]
    return []


COMMAND_WORD = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(?:\S*/)?(?:nuri|make|python3?|bash|sh)(?:\s|$)")


def shown_commands(page: Page) -> Iterator[tuple[int, str]]:
    """Every shell line of the page's shell and unlabelled blocks, and every inline code span
    that starts with a command word."""
    for language, lines in page.blocks:
        if language in SHELL_LANGUAGES:
            yield from logical_lines(lines)
    for line, content in code_spans(page):
        if COMMAND_WORD.match(content):
            yield line, content


def check_commands(page: Page, root: Path = REPO_ROOT) -> list[Problem]:
    """Problems of the commands ``page`` shows (``root``: what paths are shown relative to)."""
    problems = []
    for line, text in shown_commands(page):
        for command in split_commands(text):
            for what in check_command(command):
                problems.append(Problem(shown(page.path, root), line, what, text.strip()))
    return problems


# -- Settings ---------------------------------------------------------------------------------
@functools.cache
def settings_reference() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(setting keys and their block prefixes, top-level blocks, NURI_ variables)."""
    from configs.reference import rows

    keys: set[str] = set()
    variables: set[str] = set()
    for variable, key, _, _ in rows():
        variables.add(variable)
        parts = key.split(".")
        keys.update(".".join(parts[: n + 1]) for n in range(len(parts)))
    blocks = {k.split(".")[0] for k in keys if "." in k}
    return frozenset(keys), frozenset(blocks), frozenset(variables)


SETTING = re.compile(r"^([a-z_]+(?:\.[a-z0-9_]+)+)(?:$|:\s|\s)")
VARIABLE = re.compile(r"\bNURI_[A-Z0-9_]*[A-Z0-9]")


def check_settings(page: Page, root: Path = REPO_ROOT) -> list[Problem]:
    keys, blocks, variables = settings_reference()
    problems = []
    where = shown(page.path, root)
    texts = list(code_spans(page)) + [(n, line) for _, lines in page.blocks for n, line in lines]
    for line, content in code_spans(page):
        m = SETTING.match(content)
        name = m.group(1) if m else ""
        if (
            name.split(".")[0] in blocks
            and name.rsplit(".", 1)[-1] not in FILE_SUFFIXES
            and name not in keys
            and not module_exists(name)  # `ui.cross_site` is a module, not a setting
        ):
            problems.append(Problem(where, line, "no such setting", name))
    for line, content in texts:
        for name in VARIABLE.findall(content):
            known = name in variables or name in OTHER_VARIABLES or any(v.startswith(name + "__") for v in variables)
            if not known:
                problems.append(Problem(where, line, "no such variable", name))
    return problems


# -- The repository's documentation ------------------------------------------------------------
def documentation() -> list[Path]:
    start = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").rglob("*.md"))]
    return linked_pages(start)


def report(problems: list[Problem]) -> str:
    return f"{len(problems)} problem(s) in the documentation:\n" + "\n".join(map(str, problems))


def test_the_documentation_covers_the_front_page_the_docs_and_the_pages_they_link_to() -> None:
    pages = {shown(p, REPO_ROOT) for p in documentation()}
    assert {"README.md", "docs/README.md", "docs/install.md", "docs/configuration.md", "docs/api.md"} <= pages
    assert {"deploy/README.md", "benchmarks/RESULTS.md"} <= pages


def test_readme_stays_a_front_page() -> None:
    lines = (REPO_ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines < FRONT_PAGE_MAX_LINES, f"README.md has {lines} lines: move detail into docs/"
    assert "generated:config" not in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def test_every_internal_link_and_anchor_resolves() -> None:
    problems = [p for path in documentation() for p in check_links(read_page(path))]
    assert not problems, report(problems)


def test_every_command_and_flag_the_documentation_shows_exists() -> None:
    problems = [p for path in documentation() for p in check_commands(read_page(path))]
    assert not problems, report(problems)


def test_every_setting_and_variable_the_documentation_names_exists() -> None:
    problems = [p for path in documentation() for p in check_settings(read_page(path))]
    assert not problems, report(problems)


# -- The checker on pages written to be wrong ---------------------------------------------------
BROKEN = """\
# Guide
## 설치와 시작 (Install & start)
## Install & start
## Install & start

See [the setup](#설치와-시작-install--start), [again](#install--start-1) and [the API](other.md#routes).
A [dead link](missing.md), a [dead anchor](#no-such-heading) and [one elsewhere](other.md#nowhere).
![a screenshot](images/missing.png)

```bash
nuri ask "질문" --no-such-flag
NURI_PROFILE=qwen .venv/bin/nuri frobnicate --json
make no-such-target && make test
python -m fitting.no_such_module
python scripts/no_such_script.py
```

Inline: `nuri keys create --agency A --colour red` and `api.roles_header: X` and `NURI_API__ROLES_HEADER`.
"""

FINE = """\
# Fine

```bash
KEY=$(.venv/bin/nuri keys create --agency 누리행정청 --clearance internal --role user | tail -1)  # the key
HF_HUB_OFFLINE=1 nuri eval run sample safety --as-operator \\
    --limit 8 --no-history
nuri guard scan --json < inputs.jsonl > out.jsonl 2>&1
nuri -v search "재택근무" --top-k=3 [--json] | head -3 &
nuri keys revoke KEY_ID; nuri audit verify --checkpoints FILE
nuri eval run|validate|list …
python -m benchmarks.cli_startup && bash scripts/postgres_setup.sh
```

Inline: `nuri index create|info`, `nuri eval`, `nuri ask --json`, `make demo`, `answer.generation: extractive`,
`api.auth.rate_limit`, `index.py`, `NURI_GUARDRAILS__…` and `NURI_ANSWER__TOP_K`.
"""


def write_pages(tmp_path: Path) -> tuple[Page, Page]:
    (tmp_path / "other.md").write_text("# Other\n\n## Routes\n", encoding="utf-8")
    broken, fine = tmp_path / "broken.md", tmp_path / "fine.md"
    broken.write_text(BROKEN, encoding="utf-8")
    fine.write_text(FINE, encoding="utf-8")
    return parse(broken, BROKEN), parse(fine, FINE)


def test_the_checker_reports_each_broken_link_with_its_file_and_line(tmp_path: Path) -> None:
    broken, fine = write_pages(tmp_path)
    assert [str(p) for p in check_links(broken, tmp_path)] == [
        "broken.md:7: link to a missing file: missing.md",
        "broken.md:7: no heading #no-such-heading in broken.md: #no-such-heading",
        "broken.md:7: no heading #nowhere in other.md: other.md#nowhere",
        "broken.md:8: link to a missing file: images/missing.png",
    ]
    assert check_links(fine, tmp_path) == []


def test_the_checker_reports_each_unknown_command_flag_target_and_module(tmp_path: Path) -> None:
    broken, fine = write_pages(tmp_path)
    found = [(p.line, p.what.split(" (")[0], p.text) for p in check_commands(broken, tmp_path)]
    assert found == [
        (11, "`nuri ask` has no option --no-such-flag", 'nuri ask "질문" --no-such-flag'),
        (12, "`nuri` has no subcommand 'frobnicate'", "NURI_PROFILE=qwen .venv/bin/nuri frobnicate --json"),
        (13, "no make target 'no-such-target' in the Makefile", "make no-such-target && make test"),
        (14, "no module 'fitting.no_such_module'", "python -m fitting.no_such_module"),
        (15, "no script 'scripts/no_such_script.py'", "python scripts/no_such_script.py"),
        (18, "`nuri keys create` has no option --colour", "nuri keys create --agency A --colour red"),
    ]
    assert str(check_commands(broken, tmp_path)[0]).startswith("broken.md:11: `nuri ask` has no option --no-such-flag")
    assert check_commands(fine) == []


def test_the_checker_reports_settings_and_variables_that_do_not_exist(tmp_path: Path) -> None:
    broken, fine = write_pages(tmp_path)
    assert [str(p) for p in check_settings(broken, tmp_path)] == [
        "broken.md:18: no such setting: api.roles_header",
        "broken.md:18: no such variable: NURI_API__ROLES_HEADER",
    ]
    assert check_settings(fine) == []


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("Quick start", "quick-start"),
        ("Evaluation: `nuri eval`", "evaluation-nuri-eval"),
        ("Models: `nuri-models-fill`", "models-nuri-models-fill"),
        (
            "The embedder fit file: `python -m fitting.fit_embedder`",
            "the-embedder-fit-file-python--m-fittingfit_embedder",
        ),
        ("보안: 강제되는 것과 운영자가 설정할 것", "보안-강제되는-것과-운영자가-설정할-것"),
        (
            "What `make setup` installs (`make demo` and `make test` run it)",
            "what-make-setup-installs-make-demo-and-make-test-run-it",
        ),
        ("[Linked](x.md) **bold** 👎 title", "linked-bold--title"),
    ],
)
def test_anchors_are_slugged_as_github_slugs_headings(heading: str, expected: str) -> None:
    assert slug(heading) == expected
