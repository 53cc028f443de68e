"""The layers the layout promises: commands that serve no page load no web framework,
storage knows nothing above it (config, the code of practice, tor, the desk), the data
directory's layout is spelled in dropbox/layout.py alone, and bench/ builds on tests/support,
never on a test module."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
WEB = ("flask", "flask_babel", "babel", "werkzeug", "jinja2", "wtforms", "waitress")

# Runs a command as `dropbox` does, then names every module it loaded.
COMMAND = """
import json, sys
from dropbox.cli import cli
try:
    cli(sys.argv[1:], standalone_mode=False)
except Exception:
    pass  # what it said does not matter here (`status` on a fresh instance reports problems)
finally:
    print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_by_command(*args: str | Path) -> set[str]:
    result = subprocess.run([sys.executable, "-c", COMMAND, *map(str, args)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120,
                            check=False)  # `status` may exit 1 for what needs attention
    return {name.split(".")[0] for name in json.loads(result.stderr.splitlines()[-1])}


@pytest.mark.parametrize("command", [("team", "list"), ("status",), ("desk", "list-users")])
def test_commands_that_serve_no_page_do_not_load_flask(instance, command):
    assert sorted(loaded_by_command(*command, "--data", instance) & set(WEB)) == []


def test_storage_imports_nothing_above_it():
    probe = "import json, sys, dropbox.storage; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    loaded = set(json.loads(result.stdout))
    above = {"dropbox.config", "dropbox.practice", "dropbox.migrations", "dropbox.languages"}
    assert sorted(name for name in loaded if name in above or name.split(".")[0] in ("onion", *WEB)
                  or name.startswith("dropbox.desk")) == []


def test_storage_hands_out_frozen_values_never_rows(instance):
    """What a concept's object returns is a frozen dataclass (or plain values), so no module
    above storage reads a database row by column name."""
    import dataclasses
    import random
    import sqlite3

    from dropbox.config import Config
    from dropbox.storage import Store
    from stored import populate

    config = Config.load(instance)
    store = Store(config.database, config.store_dir, config.tmp_dir)
    store.prepare()
    [cid] = populate(store, 1, random.Random(1))
    [member, *_] = store.team.members()
    store.desk.add_account(member.name, b"hash", b"sealed", "")
    conversation = store.conversations.conversation(cid)
    store.desk.designations([cid], lambda cid, tries: f"name {tries}")
    designation = store.desk.page(member.name, 0, 10, 0)[0].designation
    values = [conversation, *store.conversations.items(cid), store.desk.account(member.name),
              *store.desk.accounts(), *store.desk.page(member.name, 0, 10, 0),
              store.desk.summary(member.name, 0, designation), member]
    for value in values:
        assert dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen, value
        assert not any(isinstance(getattr(value, f.name), (sqlite3.Row, dict))
                       for f in dataclasses.fields(value))
    assert isinstance(store.state.last_export(), int)


def layout_names() -> set[str]:
    """Every file and folder name of the data directory's layout, as dropbox/layout.py says it."""
    from dropbox.layout import ONION_KEY_FILES, Layout
    layout = Layout(Path("/instance"))
    paths = [getattr(layout, name) for name in dir(layout) if not name.startswith("_")]
    paths += [layout.onion_key(service) for service in ONION_KEY_FILES]
    return {part for path in paths if isinstance(path, Path) and path != layout.root
            for part in path.relative_to(layout.root).parts}


def spelled_layout_paths(folder: Path, names: set[str]) -> list[str]:
    """Where a module under `folder` spells a layout path itself: a layout name joined to a path
    (`data_dir / "secrets"`, `Path(..., "store")`), kept in a module-level constant, or written
    as a path in text ("secrets/..."). The same word in another role (the `tor` program, the
    `desk-access` command) is not a path."""
    found = []
    for module in sorted(folder.rglob("*.py")):
        if module.name == "layout.py":
            continue
        tree = ast.parse(module.read_text("utf-8"))
        prose = {id(body[0].value) for node in ast.walk(tree)  # docstrings may describe the layout
                 if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                 and (body := node.body) and isinstance(body[0], ast.Expr)}
        for node in ast.walk(tree):
            pathlike: list[ast.expr] = []
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
                pathlike = [node.left, node.right]
            elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                    "Path", "PurePosixPath", "join", "joinpath"):
                pathlike = list(node.args)
            elif isinstance(node, ast.Assign) and node in tree.body:
                pathlike = [node.value]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in prose:
                if any(node.value.startswith(f"{name}/") or f" {name}/" in node.value for name in names):
                    found.append(f"{module.relative_to(ROOT)}:{node.lineno}: {node.value[:60]!r}")
            for part in pathlike:
                if isinstance(part, ast.Constant) and part.value in names:
                    found.append(f"{module.relative_to(ROOT)}:{part.lineno}: {part.value!r}")
    return found


def test_the_data_directory_layout_is_spelled_in_one_module():
    names = layout_names()
    assert {"config.toml", "dropbox.sqlite3", "secrets", "store", "tmp", "tor"} <= names
    assert spelled_layout_paths(ROOT / "dropbox", names) == []


TESTS = ROOT / "tests"


def test_bench_builds_on_tests_support_and_never_on_a_test_module():
    """bench/ reuses the tests' server starter, clients and attackers, which live in
    tests/support (and a few helper modules beside it); a test module (test_*, conftest, or
    anything in a folder of tests) is no library: importing one runs its module code and ties
    the benchmarks to how a test is written."""
    found = []
    for module in sorted((ROOT / "bench").rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                helper = (TESTS / f"{top}.py").is_file() and not top.startswith("test_") and top != "conftest"
                from_tests = any(TESTS.rglob(f"{top}.py")) or (TESTS / top).is_dir()
                if from_tests and not (top == "support" or helper):
                    found.append(f"{module.relative_to(ROOT)}:{node.lineno}: {name}")
    assert found == []
