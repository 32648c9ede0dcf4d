"""Compile standin.c once per test session; skip, with the reason, on machines that cannot."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

SOURCE = Path(__file__).with_name("standin.c")
FLAGS = ["-shared", "-fPIC", "-O2", "-Wall", "-Wextra"]
PROBE = "#include <openssl/evp.h>\nint main(void) { return EVP_sha256() == 0; }\n"


@dataclass(frozen=True)
class Built:
    library: Path
    warnings: str     # the compiler's stderr; the stand-in is meant to build without any


def find_compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def build(out_dir: Path) -> Built:
    cc = find_compiler()
    if cc is None:
        pytest.skip("no C compiler (cc/gcc/clang) on PATH: cannot build the Finance SDK stand-in")
    # Probe OpenSSL separately so a missing libssl-dev skips, while a mistake in standin.c fails.
    probe = out_dir / "probe.c"
    probe.write_text(PROBE)
    got = subprocess.run([cc, str(probe), "-o", str(out_dir / "probe"), "-lcrypto"],
                         capture_output=True, text=True)
    if got.returncode != 0:
        errors = [line for line in got.stderr.splitlines() if "error" in line] or [got.stderr.strip()]
        pytest.skip("no OpenSSL headers or libcrypto to link (install libssl-dev): " + errors[0][:300])
    library = out_dir / "libWeWorkFinanceSdk_C.so"
    got = subprocess.run([cc, *FLAGS, "-o", str(library), str(SOURCE), "-lcrypto"],
                         capture_output=True, text=True)
    if got.returncode != 0:
        pytest.fail("standin.c does not compile:\n" + got.stderr)
    return Built(library, got.stderr)


@pytest.fixture(scope="session")
def finance_sdk_build(tmp_path_factory) -> Built:
    return build(tmp_path_factory.mktemp("finance_sdk"))
