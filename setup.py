"""Compiles the message catalogues into every build, so `pip install .` and the wheel serve
each language; the compiled .mo files are never committed (they are built from the .po)."""
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    def run(self):
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
        for po in sorted(Path("dropbox/translations").glob("*/LC_MESSAGES/messages.po")):
            mo = Path(self.build_lib) / po.with_suffix(".mo")
            mo.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as source, mo.open("wb") as out:
                write_mo(out, read_po(source, locale=po.parts[-3]))


setup(cmdclass={"build_py": BuildWithCatalogues})
