"""The systemd unit in docs/deploy/: valid, hardened, and its ExecStart really serves.

`systemd-analyze verify` must find nothing to say and `systemd-analyze security --offline`
must rate the unit at an exposure of 2.0 or less. Then the unit's exact ExecStart line runs
as an unprivileged user with the unit's umask, groups and no new privileges, against a data
directory with the unit's permissions, attached to a tor (network disabled) through the
control socket path the unit names (tor configured by docs/deploy/torrc), in mount and network namespaces of its own so /run/tor
and /opt are the test's and nothing reaches a network.
"""
from __future__ import annotations

import grp
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from conftest import BIN, dropbox, require_tool, unavailable
from tornet import wait_for

DEPLOY = Path(__file__).parent.parent / "docs" / "deploy"
UNIT = DEPLOY / "onion-dropbox.service"
TORRC = DEPLOY / "torrc"  # what the system's tor needs
INSTALLED = "/opt/onion-dropbox/bin/dropbox"  # where OPERATING.md installs it
TEST_USER = "odbx-unit-test"
EXPOSURE_GOAL = 2.0


def _service() -> dict[str, list[str]]:
    """The [Service] section; a key set several times keeps every value."""
    values: dict[str, list[str]] = {}
    section = None
    for line in UNIT.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line
        elif section == "[Service]" and "=" in line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values.setdefault(key, []).append(value)
    return values


def _unit_with_this_install(tmp_path: Path) -> Path:
    """The unit as it is, except the install path, which verify requires to exist."""
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(INSTALLED, str(BIN / "dropbox")))
    return unit


def test_unit_verifies_cleanly_and_is_rated_at_exposure_2_or_less(tmp_path):
    tool = require_tool("systemd-analyze")
    unit = _unit_with_this_install(tmp_path)
    verify = subprocess.run([tool, "verify", str(unit)], capture_output=True, check=False, text=True)
    assert verify.returncode == 0 and not verify.stdout.strip() and not verify.stderr.strip(), verify
    rating = subprocess.run([tool, "security", "--offline=true", str(unit)],
                            capture_output=True, check=False, text=True)
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", rating.stdout)
    assert found, rating
    assert float(found.group(1)) <= EXPOSURE_GOAL, rating.stdout


def _test_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        TEST_USER], check=True)
        return pwd.getpwnam(TEST_USER)


def _python_home() -> str:
    """Where this machine's Python is, if it lies below a folder other users may not enter
    (pyenv under /root): the script mounts it where the unit's user can reach it. Empty when
    nothing is hidden, as with Debian's /usr/bin/python3."""
    python = Path(os.path.realpath(BIN / "python3"))
    path = [*reversed(python.parents), python]
    for folder, below in zip(path, path[1:], strict=False):
        if folder != Path("/") and not os.stat(folder).st_mode & 0o001:
            return str(below)
    return ""


# Runs as root inside fresh mount and network namespaces: a private /run and /opt, tor with
# the control socket and cookie where Debian's tor@default has them, then ExecStart as the
# unit's user. Its first line is the server's pid, so the test can stop it as systemd would.
SCRIPT = r"""
set -eu
ip link set lo up
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -m 02750 /run/tor && chown debian-tor:debian-tor /run/tor
mount -t tmpfs -o mode=0755 tmpfs /opt
mkdir -p "$(dirname "$INSTALLED")" && cp "$DROPBOX" "$INSTALLED"
if [ -n "$PYTHON_HOME" ]; then  # this machine's Python lives under a home no one else may enter
  mkdir -p "$STAGE" && mount --bind "$PYTHON_HOME" "$STAGE"
  mount -t tmpfs -o mode=0755 tmpfs "$(dirname "$PYTHON_HOME")"
  mkdir -p "$PYTHON_HOME" && mount --bind "$STAGE" "$PYTHON_HOME"
fi
# As debian-tor from the start: with tor's own `User` option it opens no control socket.
setpriv --reuid debian-tor --regid debian-tor --clear-groups -- \
  tor --quiet -f "$TORRC" --DataDirectory "$TORDATA" --DisableNetwork 1 --SocksPort 0 \
    --Log "err stderr" &
tor=$!
for _ in $(seq 300); do [ -S /run/tor/control ] && [ -s /run/tor/control.authcookie ] && break; sleep 0.2; done
# MemoryDenyWriteExecute=yes, as the kernel's own per-process switch (PR_SET_MDWE, Linux 6.3+;
# inherited across exec): PyNaCl and SQLite must run without writable executable memory.
"$MDWE_PYTHON" -c 'import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(65, 1, 0, 0, 0) != 0: print("no PR_SET_MDWE here")
os.execvp(sys.argv[1], sys.argv[1:])' \
setpriv --reuid "$UNIT_USER" --regid "$UNIT_USER" $GROUPS_OPTION --no-new-privs \
    --inh-caps=-all --bounding-set=-all -- \
    env -i PATH=/usr/bin:/bin STATE_DIRECTORY="$STATE_DIRECTORY" \
    sh -c "umask $UMASK && exec $EXECSTART" &
server=$!
echo "server pid $server"
status=0
wait $server || status=$?
kill $tor; wait $tor || true
exit $status
"""


@pytest.mark.slow
def test_exact_execstart_serves_as_an_unprivileged_user_through_tors_control_socket(tmp_path):
    if os.geteuid() != 0:
        unavailable("running the unit's ExecStart as another user needs root")
    for tool in ("tor", "unshare", "setpriv", "ip", "useradd"):
        require_tool(tool)
    service = _service()
    groups = " ".join(service.get("SupplementaryGroups", [])).split()
    for group in groups:
        try:
            grp.getgrnam(group)
        except KeyError:
            unavailable(f"the group {group} the unit names does not exist (install tor)")
    user = _test_user()
    execstart = service["ExecStart"][0]
    assert execstart.startswith(INSTALLED + " ")

    # The data directory as systemd's StateDirectory makes it: the user's, mode 0700.
    root = Path(tempfile.mkdtemp(prefix="odbx-unit-"))
    try:
        os.chmod(root, 0o755)
        state = root / "onion-dropbox"
        dropbox("init", "--data", state, "--community", "Test community")
        shutil.copy(Path(__file__).parent / "fixtures" / "v0.1.0" / "airgap" / "alexandra.pub",
                    root / "alexandra.pub")
        dropbox("team", "add", "alexandra", root / "alexandra.pub", "--data", state)
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(state)], check=True)
        os.chmod(state, int(service["StateDirectoryMode"][0], 8))
        tordata = root / "tor"
        tordata.mkdir(mode=0o700)
        shutil.chown(tordata, "debian-tor", "debian-tor")
        before = set(state.rglob("*"))
        env = {**os.environ, "INSTALLED": INSTALLED, "TORRC": str(TORRC),
               "MDWE_PYTHON": sys.executable, "DROPBOX": str(BIN / "dropbox"),
               "TORDATA": str(tordata), "UNIT_USER": str(user.pw_uid),
               "GROUPS_OPTION": f"--groups={','.join(groups)}" if groups else "--clear-groups", "UMASK": service["UMask"][0],
               "STATE_DIRECTORY": str(state),
               "EXECSTART": execstart.replace("${STATE_DIRECTORY}", shlex.quote(str(state))),
               "PYTHON_HOME": _python_home(),
               "STAGE": str(root / "python-stage")}
        process = subprocess.Popen(["unshare", "--mount", "--net", "--propagation", "private",
                                    "bash", "-c", SCRIPT], env=env, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        log: list[str] = []
        threading.Thread(target=lambda: log.extend(process.stdout), daemon=True).start()
        try:
            found = wait_for("the onion address", lambda: re.search(
                r"reporter site: http://([a-z2-7]{56}\.onion)/", "".join(log))
                or process.poll() is not None, 90, 0.2)
            assert process.poll() is None, "".join(log)
            assert found.group(1) == dropbox("onion", "address", "--data", state).out.strip()
            assert "attached to tor" in "".join(log) and "/run/tor/control" in "".join(log)
            pid = int(re.search(r"server pid (\d+)", "".join(log)).group(1))
            status = dict(line.split(":\t", 1) for line in
                          Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
            assert status["Umask"] == "0077"  # what the service writes is its own alone
            assert status["NoNewPrivs"] == "1" and int(status["CapEff"], 16) == 0
            assert status["Uid"].split()[0] == str(user.pw_uid)
            os.kill(pid, signal.SIGTERM)
            assert process.wait(timeout=60) == 0, "".join(log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        said = "".join(log)
        assert "onion services removed" in said and "Traceback" not in said, said
        # Everything the service wrote is its user's and no one else's.
        for path in set(state.rglob("*")) - before:
            status = path.lstat()
            assert status.st_uid == user.pw_uid, path
            assert status.st_mode & 0o077 == 0, (path, oct(status.st_mode))
    finally:
        shutil.rmtree(root, ignore_errors=True)
