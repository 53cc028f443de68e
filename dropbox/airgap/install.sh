#!/bin/sh
# Installs the onion-dropbox offline tools from this kit. Uses no network and no pip.
#   sh install.sh [TARGET]      (default: ~/onion-dropbox-keys; PYTHON=... to choose python3)
# Then run TARGET/keys (see GUIDE.md).
set -eu
kit=$(cd "$(dirname "$0")" && pwd)
target=${1:-$HOME/onion-dropbox-keys}
python=$(command -v "${PYTHON:-python3}") || { echo "no python3 on this machine" >&2; exit 1; }

# Every file as it was when the kit was built (and SHA256SUMS as the team compared it).
(cd "$kit" && sha256sum --quiet --strict -c SHA256SUMS) || {
  echo "the kit is damaged or was changed: do not install it" >&2; exit 1; }

mkdir -p "$target"
target=$(cd "$target" && pwd)
rm -rf "$target/lib"
"$python" - "$kit" "$target/lib" <<'PY'
import shutil, sys, zipfile
from pathlib import Path
kit, lib = Path(sys.argv[1]), Path(sys.argv[2])
tag = "cp%d%d" % sys.version_info[:2]
wheels = sorted((kit / "wheels").glob("*.whl"))
cffi = [w for w in wheels if w.name.startswith("cffi-")]
if not any(f"-{tag}-" in w.name for w in cffi):
    sys.exit(f"this kit has no PyNaCl build for Python {sys.version_info[0]}.{sys.version_info[1]}: "
             f"rebuild it with `dropbox airgap-kit --python {sys.version_info[0]}.{sys.version_info[1]}`")
for wheel in wheels:
    if wheel in cffi and f"-{tag}-" not in wheel.name:
        continue  # built for another Python
    zipfile.ZipFile(wheel).extractall(lib)
shutil.copytree(kit / "keys", lib / "keys")
PY
cat > "$target/keys" <<SH
#!/bin/sh
exec env PYTHONPATH="$target/lib" "$python" -m keys "\$@"
SH
chmod 755 "$target/keys"
"$target/keys" --help >/dev/null
echo "installed: run $target/keys (new, open, reply); see GUIDE.md"
