"""The live view's JavaScript from Python's side: node's tests of its modules (tests/js), the
golden fixtures those tests read (a fresh Python run must write the same), and the scripts
that mpq_app/ui/js_bundle.py joins for each component.

ESLint runs in scripts/check_js.sh (it needs the npm packages); node itself is enough here.
Without node these tests are skipped, except under CI, where they fail.
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from support import IN_CI, REPO

from mpq_app.ui.js_bundle import LIVE_JS, BundleError, bundle, read_module

NODE = shutil.which("node")
ENTRIES = ("view.js", "state.js", "plotly.js", "preload.js")  # one per component
needs_node = pytest.mark.skipif(
    NODE is None and not IN_CI, reason="node not found (Node.js 20 runs tests/js)"
)


def _node(*args: str) -> subprocess.CompletedProcess[str]:
    assert NODE is not None, "node not found: tests/js needs Node.js 20 (CI must not skip)"
    return subprocess.run(
        [NODE, *args], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )


# --- node's tests and the fixtures they read -------------------------------------------------


@needs_node
def test_node_tests_of_the_modules_pass():
    result = _node("--test", "--test-reporter=tap", "tests/js/")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    counts = dict(re.findall(r"^# (tests|pass|fail) (\d+)$", result.stdout, re.M))
    assert int(counts["tests"]) >= 20 and counts["fail"] == "0", counts


def _fixture_script():
    path = REPO / "scripts" / "gen_js_fixtures.py"
    spec = importlib.util.spec_from_file_location("gen_js_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_fixtures_equal_a_fresh_python_run():
    script = _fixture_script()
    fresh = script.fixtures()
    committed = {path.name for path in script.FIXTURES.glob("*.json")}
    assert committed == set(fresh), "run: python scripts/gen_js_fixtures.py"
    for name, text in fresh.items():
        on_disk = json.loads((script.FIXTURES / name).read_text(encoding="utf-8"))
        # floats within 1e-12: another CPU's numpy may round a sum in its last bit
        assert _same(on_disk, json.loads(text)), (
            f"{name} is stale; run: python scripts/gen_js_fixtures.py"
        )


def _same(a, b) -> bool:
    """Equal JSON values, floats within a relative 1e-12 (NaN, infinities exactly)."""
    if isinstance(a, float) or isinstance(b, float):
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        return a == b or math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300) or (a != a and b != b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


# --- the components' scripts ---------------------------------------------------------------


@needs_node
@pytest.mark.parametrize("entry", ENTRIES)
def test_each_components_script_parses_as_a_module(entry, tmp_path):
    # a name declared twice in the joined scope, or a stray import, fails here
    script = tmp_path / f"{entry}.mjs"
    script.write_text(bundle(entry), encoding="utf-8")
    result = _node("--check", str(script))
    assert result.returncode == 0, result.stderr


def _joined(script: str) -> list[str]:
    return re.findall(r"^// --- ui/live_js/(\S+)$", script, re.M)


@pytest.mark.parametrize("entry", ENTRIES)
def test_each_module_comes_once_after_what_it_imports(entry):
    script = bundle(entry)
    order = _joined(script)
    assert order[-1] == entry and len(set(order)) == len(order)
    for position, name in enumerate(order):
        for source, _ in read_module(LIVE_JS, name).imports:
            assert order.index(source) < position, (name, source)
    assert not re.search(r"^\s*import\s*\{", script, re.M)
    assert len(re.findall(r"^export\b", script, re.M)) == 1  # the entry's default


def test_every_module_is_part_of_a_component():
    used = {name for entry in ENTRIES for name in _joined(bundle(entry))}
    assert used == {path.name for path in LIVE_JS.glob("*.js")}


def test_the_view_component_shares_the_page_registry_with_the_state_and_library():
    # the registry is the one thing on globalThis that several components' scripts use
    for entry in ("view.js", "state.js", "plotly.js"):
        assert "registry.js" in _joined(bundle(entry))
    assert "globalThis.__mpqLive" in bundle("state.js")


# --- the joining rules, on small modules -----------------------------------------------------


def _write(folder: Path, **modules: str) -> Path:
    for name, text in modules.items():
        (folder / f"{name}.js").write_text(text, encoding="utf-8")
    return folder


def test_a_bundle_is_its_modules_in_run_order_without_imports_and_exports(tmp_path):
    folder = _write(
        tmp_path,
        a='import { b } from "./b.js";\nimport { c } from "./c.js";\n\nexport const a = b + c;\n',
        b='import { c } from "./c.js";\n\nexport function b() {\n  return c;\n}\n',
        c="export let c = 1;\n",
        main='import {\n  a,\n  b,\n} from "./a.js";\n\nexport default function (x) {\n  return a;\n}\n',
    )
    with pytest.raises(BundleError, match=r"main.js: a.js does not export b"):
        bundle("main.js", folder)
    _write(folder, main='import { a } from "./a.js";\n\nexport default function () {\n  a;\n}\n')
    assert bundle("main.js", folder) == (
        "// --- ui/live_js/c.js\nlet c = 1;\n\n"
        "// --- ui/live_js/b.js\nfunction b() {\n  return c;\n}\n\n"
        "// --- ui/live_js/a.js\nconst a = b + c;\n\n"
        "// --- ui/live_js/main.js\nexport default function () {\n  a;\n}\n"
    )


_DEFAULT = "\nexport default function () {}\n"


@pytest.mark.parametrize(
    ("modules", "message"),
    [
        (
            {
                "main": 'import { n } from "./x.js";\nconst n = 2;' + _DEFAULT,
                "x": "export const n = 1;",
            },
            r"main.js: 'n' is declared in x.js too \(one scope\)",
        ),
        (
            {"main": 'import { y } from "./y.js";\n', "y": 'import { main } from "./main.js";\n'},
            r"a cycle of imports: main.js -> y.js -> main.js",
        ),
        ({"main": 'import y from "./y.js";\n'}, r"main.js, line 1: only `import \{ a, b \}"),
        ({"main": 'import { y as z } from "./y.js";\n'}, r"only plain names can be imported"),
        ({"main": "const a = 1;\nexport { a };\n"}, r"main.js, line 2: only exported declarations"),
        ({"main": "// a\nimport { b } from './b.js';\n"}, r"main.js, line 2: only `import"),
        ({"main": "export const { a, b } = {};\n"}, r"no destructuring"),
        ({"main": 'import { y } from "./nowhere.js";\n'}, r"nowhere.js: no such module"),
    ],
)
def test_forms_the_bundle_cannot_join_are_refused_by_name(tmp_path, modules, message):
    with pytest.raises(BundleError, match=message):
        bundle("main.js", _write(tmp_path, **modules))


def test_only_the_entry_has_a_default_export(tmp_path):
    folder = _write(
        tmp_path, x="export const y = 1;" + _DEFAULT, main='import { y } from "./x.js";' + _DEFAULT
    )
    with pytest.raises(BundleError, match=r"x.js: is not an entry"):
        bundle("main.js", folder)
    _write(folder, x="export const y = 1;\n", main='import { y } from "./x.js";\n')
    with pytest.raises(BundleError, match=r"main.js: has no default export"):
        bundle("main.js", folder)
