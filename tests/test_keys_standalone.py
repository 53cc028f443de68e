"""`keys` runs on the air-gapped machine with the standard library and PyNaCl alone."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("flask", "werkzeug", "jinja2", "click", "stem", "waitress", "dropbox", "onion")

PROBE = """
import json, sys
before = set(sys.modules)
import keys, keys.cli, keys.offline, keys.bundle, keys.envelope, keys.codename
import keys.responder, keys.items, keys.errors
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
