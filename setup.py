"""setup.py — the pymple C extension for pip/setuptools (see pyproject.toml).

Builds every dumper/*.c and format/writer.c into pymple._pymple, like the
Makefile. Only schema/ and format/ are on the include path: dumper/ headers
are included with quotes, and dumper/signal.h must not shadow the system
<signal.h> for pyint.c.
"""
import glob

from setuptools import Extension, setup

setup(
    packages=["pymple"],
    package_dir={"pymple": "dumper/pymple"},
    ext_modules=[
        Extension(
            "pymple._pymple",
            sources=sorted(glob.glob("dumper/*.c")) + ["format/writer.c"],
            depends=sorted(glob.glob("dumper/*.h") + glob.glob("format/*.h")
                           + glob.glob("schema/*.h")),
            include_dirs=["schema", "format"],
            define_macros=[("_GNU_SOURCE", None)],
            extra_compile_args=["-std=c11", "-fvisibility=hidden"],
            libraries=["z"],
        )
    ],
)
