"""Rewrite the README's settings table from backend.settings (python scripts/update_readme_settings.py)."""
import pathlib
import re
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from backend.settings import Settings  # noqa: E402

readme = pathlib.Path(__file__).resolve().parent.parent / "README.md"
text = readme.read_text()
text = re.sub(r"(<!-- settings:start[^\n]*-->\n).*?(\n<!-- settings:end -->)",
              lambda m: m.group(1) + Settings.describe() + m.group(2), text, flags=re.S)
readme.write_text(text)
