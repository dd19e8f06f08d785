"""The README stays true: every setting in config.py is documented there."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_environment_variable_is_documented():
    config = (ROOT / "config.py").read_text()
    names = set(re.findall(r'(?:environ\.get|_env_int|_env_bool)\("([A-Z_]+)"', config))
    readme = (ROOT / "README.md").read_text()
    assert names, "config.py reads no environment variables?"
    missing = sorted(name for name in names if f"`{name}`" not in readme)
    assert missing == []


def test_readme_names_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme and "make test" in readme
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
