"""The live components' JavaScript: ES modules in ``ui/live_js/``, joined into one script per
component when the app starts.

Streamlit runs a component's script as a single module loaded from an in-memory URL, where a
relative ``import`` has nothing to resolve against. So each entry (the module whose default
export Streamlit calls) is joined here with the modules it imports, scope-hoisted as a
bundler does it:

- each module once, after the modules it imports, in the order the browser would run them
  (depth first, imports in the order written);
- its ``import { a, b } from "./x.js";`` statements removed and the ``export`` keyword of its
  declarations dropped; the entry keeps its ``export default function``;
- one scope for all of them, so a name declared at the top of two modules is an error, as are
  an import of a name that the module does not export, a cycle of imports, and every other
  form of import or export (default, namespace or renamed imports, ``export { ... }``).

Top-level statements start at the line's first column (as formatted); that is how
declarations are found. ESLint checks each module on its own (every name used is declared or
imported), and node's tests import the modules that need no page (``tests/js``). The bundle is
built from the files themselves at each start, so there is no generated file to go stale
(``tests/test_js.py`` has node parse each one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LIVE_JS = Path(__file__).with_name("live_js")

_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w-]+\.js)";[ \t]*\n?', re.M)
_NAME = r"[A-Za-z_$][\w$]*"
_DECLARED = re.compile(
    rf"^(export\s+)?(?:async\s+)?(?:function\s*\*?|const|let|var|class)\s+({_NAME})", re.M
)
_DESTRUCTURED = re.compile(r"^(?:export\s+)?(?:const|let|var)\s*[\[{]", re.M)
_EXPORT_KEYWORD = re.compile(r"^export\s+(?=(?:async\s+)?(?:function|const|let|class)\b)", re.M)
_DEFAULT = re.compile(r"^export\s+default\s+function\b", re.M)
_OTHER_IMPORT = re.compile(r"^import\b", re.M)
_OTHER_EXPORT = re.compile(
    r"^export\b(?!\s+default\s+function\b)(?!\s+(?:async\s+)?(?:function|const|let|class)\b)",
    re.M,
)


class BundleError(ValueError):
    """A module that the bundle cannot join as it is (its message names the module)."""


@dataclass(frozen=True)
class Module:
    """One file of ``ui/live_js``, read: what it imports, declares and exports."""

    name: str
    body: str  # the text without its import statements
    imports: tuple[tuple[str, tuple[str, ...]], ...]  # (module name, names) as written
    declared: tuple[str, ...]  # top-level names
    exported: frozenset[str]
    has_default: bool


def read_module(folder: Path, name: str) -> Module:
    """``folder/name`` read, with the forms it uses checked."""
    path = folder / name
    if not path.is_file():
        raise BundleError(f"{name}: no such module in {folder}")
    text = path.read_text(encoding="utf-8")
    imports = tuple((source, _names(name, names)) for names, source in _IMPORT.findall(text))
    _reject(name, _IMPORT.sub(lambda found: "\n" * found[0].count("\n"), text))  # same lines
    body = _IMPORT.sub("", text)
    found = _DECLARED.findall(body)
    return Module(
        name=name,
        body=body,
        imports=imports,
        declared=tuple(declared for _, declared in found),
        exported=frozenset(declared for export, declared in found if export),
        has_default=_DEFAULT.search(body) is not None,
    )


def _names(module: str, written: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in written.split(",") if part.strip())
    for name in names:
        if not re.fullmatch(_NAME, name):
            raise BundleError(f"{module}: import {{ {name} }}: only plain names can be imported")
    return names


def _reject(name: str, body: str) -> None:
    """The forms of import, export and declaration that the bundle does not join."""
    checks = (
        (_OTHER_IMPORT, 'only `import { a, b } from "./x.js";` imports are joined'),
        (_OTHER_EXPORT, "only exported declarations and `export default function` are joined"),
        (_DESTRUCTURED, "declare one name per top-level statement (no destructuring)"),
    )
    for pattern, why in checks:
        found = pattern.search(body)
        if found:
            line = body.count("\n", 0, found.start()) + 1
            raise BundleError(f"{name}, line {line}: {why}")


def bundle(entry: str, folder: Path = LIVE_JS) -> str:
    """The script of the component whose module is ``folder/entry``: it and every module it
    imports, joined (see the module docstring)."""
    modules = _ordered(folder, entry)
    _check(modules, entry)
    parts = []
    for module in modules:
        body = _EXPORT_KEYWORD.sub("", module.body).strip("\n")
        parts.append(f"// --- ui/live_js/{module.name}\n{body}\n")
    return "\n".join(parts)


def _ordered(folder: Path, entry: str) -> list[Module]:
    """The modules of ``entry``, each after those it imports (the browser's order)."""
    done: dict[str, Module] = {}
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in visiting:
            cycle = " -> ".join([*visiting[visiting.index(name) :], name])
            raise BundleError(f"a cycle of imports: {cycle}")
        if name in done:
            return
        visiting.append(name)
        module = read_module(folder, name)
        for source, _ in module.imports:
            visit(source)
        visiting.pop()
        done[name] = module

    visit(entry)
    return list(done.values())


def _check(modules: list[Module], entry: str) -> None:
    """One scope: every import exported by its module, no name declared twice, the default
    export in the entry only."""
    by_name = {module.name: module for module in modules}
    owner: dict[str, str] = {}
    for module in modules:
        if module.has_default != (module.name == entry):
            why = "has no default export" if module.name == entry else "is not an entry"
            raise BundleError(f"{module.name}: {why} (`export default function`)")
        for source, names in module.imports:
            missing = [name for name in names if name not in by_name[source].exported]
            if missing:
                raise BundleError(f"{module.name}: {source} does not export {', '.join(missing)}")
        for name in module.declared:
            if name in owner:
                raise BundleError(
                    f"{module.name}: {name!r} is declared in {owner[name]} too (one scope)"
                )
            owner[name] = module.name
