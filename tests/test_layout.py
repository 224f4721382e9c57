"""The house rules of the import graph, read from the source (AST), so a change that breaks one
fails here rather than in a reader's head.

Within the packages (mocks/, suites/, specs/, fixtures/, drive/, bench/) and the top-level modules
(conftest.py, authconform_cli.py):
- no module imports another module's private (`_name`) names: what another module needs gets a
  public name where it lives;
- from outside a package (or sub-package, such as suites/engine/), only its public face is imported:
  its `__init__` (`from specs import X`, never `from specs._model import X`, and X is in its
  `__all__`) or a public module that is an entry point (`suites.engine.plugin`); a sub-package may
  use the modules of the package it sits in;
- no import circles between modules, type-only (`if TYPE_CHECKING:`) imports included: a circle
  is two modules that cannot be read, or changed, one without the other;
- mocks/ and suites/ never import each other (a bug in the mock cannot hide the same bug in a check),
  and drive/ starts mocks as processes, never imports them; suites/ never imports drive/ (drive
  imports the suite: the two packages would be one circle).
Tests are white-box: a test may import any module, private ones and their private names included
(it tests them), but test modules never import each other: shared helpers and fixtures live in
tests/conftest.py and the tests/_*.py modules (tests/_helpers.py, the servers the tests judge).
Every file stands alone: no text in the repository points at issue numbers or at documents a clone
does not have; it cites RFC sections, spec paths and the repository's own files.
"""
from __future__ import annotations

import ast
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("mocks", "suites", "specs", "fixtures", "drive", "bench")
# Modules at the top level, outside any package: held to the same faces as the packages.
TOP_LEVEL = ("conftest.py", "authconform_cli.py")
# (importer, imported) pairs of packages that never meet: mocks and suites are each other's blind
# spot; drive drives mocks from outside, and the suite it drives never imports it back.
WALLED = {("mocks", "suites"), ("suites", "mocks"), ("drive", "mocks"), ("suites", "drive")}


@dataclass(frozen=True)
class Import:
    """One `from X import name` (or `import X`) of a module, resolved to absolute names."""

    importer: str
    target: str
    name: str | None
    line: int


def module_name(path: Path, root: Path) -> str:
    """`suites._runner` for suites/_runner.py, `suites` for suites/__init__.py."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def package_modules(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the packages and the top-level modules, by dotted name."""
    found = {module_name(p, root): p for pkg in PACKAGES for p in sorted((root / pkg).rglob("*.py"))}
    return found | {Path(f).stem: root / f for f in TOP_LEVEL if (root / f).is_file()}


def imports(modules: dict[str, Path]) -> list[Import]:
    """Every import of a package module that names a package module, type-only ones included."""
    out: list[Import] = []
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] in PACKAGES:
                    out += [Import(name, target, a.name, node.lineno) for a in node.names]
            elif isinstance(node, ast.Import):
                out += [Import(name, a.name, None, node.lineno) for a in node.names if a.name.split(".")[0] in PACKAGES]
    return out


def package_of(name: str, modules: dict[str, Path]) -> str:
    """The package a module belongs to (a package's `__init__` is its own)."""
    return name if modules[name].name == "__init__.py" else name.rpartition(".")[0]


def inside(name: str, package: str) -> bool:
    """True for the package itself and anything below it."""
    return name == package or name.startswith(package + ".")


def private(name: str) -> bool:
    """`_name`, not `__dunder__`."""
    return name.startswith("_") and not name.startswith("__")


def problems(root: Path = ROOT) -> list[str]:
    """Every break of the rules in the module docstring, one line each (empty: the house is in order)."""
    modules = package_modules(root)
    out: list[str] = []
    edges: dict[str, set[str]] = {m: set() for m in modules}
    for imp in imports(modules):
        where = f"{imp.importer} (line {imp.line})"
        if imp.name is not None and f"{imp.target}.{imp.name}" in modules:
            target, name = f"{imp.target}.{imp.name}", None  # `from . import _keys`: a module
        else:
            target, name = imp.target, imp.name
        if target in modules and target != imp.importer:
            edges[imp.importer].add(target)
        src_top, dst_top = imp.importer.split(".")[0], target.split(".")[0]
        if (src_top, dst_top) in WALLED:
            out.append(f"{where}: imports {target}: {src_top}/ never imports {dst_top}/")
        if target not in modules:
            continue
        face = package_of(target, modules)
        if inside(package_of(imp.importer, modules), face):
            if name is not None and private(name) and target != imp.importer:
                out.append(f"{where}: imports the private name {name} of {target}")
        elif target != face and target.rpartition(".")[2].startswith("_"):
            out.append(f"{where}: imports {target}: from outside {face} only `{face}` itself (its __all__)")
        elif target != face:
            if name is not None and private(name):
                out.append(f"{where}: imports the private name {name} of {target}")
        elif name is not None and name not in _public(modules[face]):
            out.append(f"{where}: imports {name} from {face}, which is not in its __all__")
    out += [f"import circle: {' -> '.join(c)}" for c in circles(edges)]
    return list(dict.fromkeys(out))


def _public(init: Path) -> set[str]:
    """The names a package's `__all__` lists."""
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return set(ast.literal_eval(node.value))
    return set()


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The import circles between modules (strongly connected groups of more than one module, or a
    module importing itself), each sorted. Package `__init__`s re-export their modules: an edge
    into a package's own `__init__` from inside it is part of the package's face, not a circle."""
    graph = {m: {t for t in ts if not (m.startswith(t + ".") and "." not in m[len(t) + 1:])} for m, ts in edges.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_keeps_the_house_rules() -> None:
    """No private cross-module import, only packages' public faces across packages, no circle, the wall."""
    assert problems() == []


def test_tests_do_not_import_each_other() -> None:
    """Shared test code lives in tests/conftest.py and tests/_*.py, not in a test module."""
    tests = {p.stem for p in (ROOT / "tests").glob("test_*.py")}
    found = []
    for path in sorted((ROOT / "tests").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names] if isinstance(node, ast.Import) else []
            found += [f"{path.name} (line {node.lineno}): imports {n}" for n in names if n.split(".")[-1] in tests]
    assert found == []


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"suites/_a.py": "from ._b import _helper\n", "suites/_b.py": "def _helper(): pass\n"}, "imports the private name _helper of suites._b"),
        ({"suites/_a.py": "from ._b import X\n", "suites/_b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ._a import Y\n"}, "import circle: suites._a -> suites._b"),
        ({"fixtures/_a.py": "from suites._b import X\n", "suites/_b.py": "X = 1\n"}, "from outside suites only `suites` itself"),
        ({"fixtures/_a.py": "from suites import X\n", "suites/__init__.py": "X = 1\n__all__ = []\n"}, "X from suites, which is not in its __all__"),
        ({"mocks/_a.py": "from suites import X\n", "suites/__init__.py": "X = 1\n__all__ = ['X']\n"}, "mocks/ never imports suites/"),
        ({"suites/_a.py": "from .engine._b import X\n", "suites/engine/__init__.py": "__all__ = []\n", "suites/engine/_b.py": "X = 1\n"},
         "from outside suites.engine only `suites.engine` itself"),
        ({"bench/_a.py": "from suites._b import X\n", "suites/_b.py": "X = 1\n"}, "from outside suites only `suites` itself"),
        ({"conftest.py": "from suites._b import X\n", "suites/_b.py": "X = 1\n"}, "conftest (line 1): imports suites._b"),
    ],
    ids=["private-name", "type-only-circle", "private-module-across", "not-in-all", "wall", "sub-package-face", "bench",
         "top-level-module"],
)
def test_each_rule_fails_on_a_house_that_breaks_it(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    """Each rule names the break in a small made-up tree (so the clean result above is no empty check)."""
    for pkg in PACKAGES:
        (tmp_path / pkg).mkdir()
        (tmp_path / pkg / "__init__.py").write_text("__all__ = []\n")
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    found = problems(tmp_path)
    assert any(expected in p for p in found), found
    # The same tree without the file that breaks the rule is clean.
    (tmp_path / next(iter(files))).unlink()
    assert problems(tmp_path) == []


def test_the_readme_layout_table_names_every_folder_of_code() -> None:
    """README's Layout table lists exactly the top-level folders that hold Python code (rows naming files aside)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## Layout"):].split("\n\n")[1]
    cells = [line.split("`")[1] for line in table.splitlines() if line.startswith("| `")]
    listed = {c.rstrip("/") for c in cells if c.endswith("/")}
    tracked = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    folders = {p.split("/")[0] for p in tracked if "/" in p}
    assert listed == folders


# What points where a clone cannot follow: an issue number, the documents the project was planned
# from, a page by the folder it was copied from (the copies are specs/pages/).
OUTSIDE = re.compile(r"(?i)\bissues?\s*#?\s*\d+|RFC-NOTES|DESIGN\.md|STYLE\.md|\.\./shared|(?<![\w/])seeds/[\w-]+\.md"
                     r"|(?<![\w.])/(?:work|root|home)/\w")


def outside_references(root: Path = ROOT) -> list[str]:
    """Every line of a tracked text file (any name; a file with a NUL byte is binary and skipped)
    that points outside the repository or at a path of the machine it was written on, as
    `file:line: text`."""
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=root, capture_output=True, check=True).stdout.decode().split("\0")
    found = []
    for rel in filter(None, tracked):
        path = root / rel
        if rel == "tests/test_layout.py" or not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue
        for n, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE.search(line):
                found.append(f"{rel}:{n}: {line.strip()[:120]}")
    return found


def test_nothing_points_outside_the_repository() -> None:
    """No issue numbers, no planning documents, no page by its outside folder: cite what a clone holds."""
    assert outside_references() == []


@pytest.mark.parametrize("line", ["# Issue 6 floor: 1.2x", "see RFC-NOTES §5 C.12", "(seeds/cloro-authentication.md)",
                                  "read ../shared/DESIGN.md", "as issue #12 asked", "issue#13", "ISSUE 13",
                                  "see /work/coord/GUIDE.md", "cd /root/x"])
def test_an_outside_reference_is_found(tmp_path: Path, line: str) -> None:
    """Each kind of outside pointer is caught in a tracked file, whatever its name (a launcher has no
    suffix); the same files citing what a clone has are clean."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name in ("a.py", "launcher"):
        (tmp_path / name).write_text(f"x = 1\n{line}\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "a.py", "launcher"], check=True)
    assert sorted(f.split(": ", 1)[0] for f in outside_references(tmp_path)) == ["a.py:2", "launcher:2"]
    for name in ("a.py", "launcher"):
        (tmp_path / name).write_text("# RFC 9110 §11.4; specs/pages/cloro-authentication.md; tests/clients/seeds/x.sh; 127.0.0.1/work\n")
    assert outside_references(tmp_path) == []
