"""`keys` runs on the air-gapped machine with the standard library and PyNaCl alone."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("flask", "werkzeug", "jinja2", "click", "stem", "waitress", "dropbox", "onion")

# Every module of the package (but __main__, which runs the command line), so a new one is
# held to the boundary without being named here.
PROBE = """
import importlib, json, pkgutil, sys
before = set(sys.modules)
import keys
for module in pkgutil.iter_modules(keys.__path__):
    if module.name != "__main__":
        importlib.import_module("keys." + module.name)
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def loaded_by_keys() -> list[str]:
    """Every module that importing keys brings in (what the interpreter had at start excluded)."""
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=True)
    return json.loads(result.stdout)


def test_importing_keys_loads_no_web_stack_tor_or_server_code():
    tops = {name.split(".")[0] for name in loaded_by_keys()}
    assert [name for name in FORBIDDEN if name in tops] == []


def test_importing_keys_loads_only_the_standard_library_and_pynacl():
    outside = {name.split(".")[0] for name in loaded_by_keys()} - set(sys.stdlib_module_names)
    assert outside <= {"keys", "nacl", "_cffi_backend", "cffi", "_sodium"}


def test_python_m_keys_shows_its_commands():
    result = subprocess.run([sys.executable, "-m", "keys", "--help"], cwd=ROOT,
                            capture_output=True, check=False, text=True, timeout=60)
    assert result.returncode == 0
    for command in ("new", "open", "reply"):
        assert command in result.stdout
