"""Write static/vendor/jsQR.js and jsQR.LICENSE: the QR decoder the camera scanner falls back on.

A build step run by hand (`make vendor-jsqr`) when the version below changes; its output is
committed, so no Node is needed where the app runs and no page loads it from a CDN. It fetches
the npm package jsqr (through `npm pack`, Node at build time only) and copies its browser build
(dist/jsQR.js, a UMD bundle defining window.jsQR; no eval, so it runs under the
Content-Security-Policy) and its licence (Apache-2.0). static/js/scan.js loads the file only
when the browser has no BarcodeDetector that reads QR codes.
"""

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
VENDOR = BASE_DIR / "static/vendor"
PACKAGE = "jsqr@1.4.0"
HOME = "https://github.com/cozmo/jsQR"


def main() -> int:
    npm = shutil.which("npm")
    if npm is None:
        print("vendor_jsqr: needs Node's npm (apt-get install npm)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(  # noqa: S603 (a fixed program, no shell)
            [npm, "pack", PACKAGE, "--silent"], cwd=folder, check=True, stdout=subprocess.DEVNULL
        )
        (tarball,) = Path(folder).glob("*.tgz")
        with tarfile.open(tarball) as archive:
            script = archive.extractfile("package/dist/jsQR.js").read().decode()
            licence = archive.extractfile("package/LICENSE").read().decode()
    digest = hashlib.sha256(script.encode()).hexdigest()
    note = f"/*! {PACKAGE} ({HOME}), Apache-2.0: see jsQR.LICENSE. npm's dist/jsQR.js, sha256 {digest}, vendored by scripts/vendor_jsqr.py: do not edit. */\n"  # noqa: E501
    (VENDOR / "jsQR.js").write_text(note + script)
    (VENDOR / "jsQR.LICENSE").write_text(licence)
    print(f"static/vendor/jsQR.js: {PACKAGE}, {len(script)} bytes, sha256 {digest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
