"""setup.py — the pymple C extension for pip/setuptools (see pyproject.toml).

Builds every dumper/*.c into pymple._pymple, like the Makefile. Only schema/
is on the include path: dumper/ headers are included with quotes, and
dumper/signal.h must not shadow the system <signal.h> for pyint.c.
"""
import glob
import os
import subprocess
import tempfile

from setuptools import Extension, setup


def have_libdeflate():
    """True when libdeflate (libdeflate-dev) links: the writer then compresses
    in-process dumps with it (PYM_LIBDEFLATE, as the Makefile does)."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "t.c")
        with open(src, "w") as f:
            f.write("#include <libdeflate.h>\n"
                    "int main(void) { return libdeflate_zlib_compress_bound(0, 1) == 0; }\n")
        cmd = [os.environ.get("CC", "cc"), src, "-o", os.path.join(d, "t"), "-ldeflate"]
        return subprocess.call(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


DEFLATE = have_libdeflate()

setup(
    packages=["pymple"],
    package_dir={"pymple": "dumper/pymple"},
    ext_modules=[
        Extension(
            "pymple._pymple",
            sources=sorted(glob.glob("dumper/*.c")),
            depends=sorted(glob.glob("dumper/*.h") + glob.glob("schema/*.h")),
            include_dirs=["schema"],
            define_macros=[("_GNU_SOURCE", None)] + ([("PYM_LIBDEFLATE", None)] if DEFLATE else []),
            extra_compile_args=["-std=c11", "-fvisibility=hidden"],
            libraries=(["deflate"] if DEFLATE else []) + ["z"],
        )
    ],
)
