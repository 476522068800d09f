"""Rewrite the README's settings tables from the code (python scripts/update_readme_settings.py).

The core table comes from ``backend.settings``; the provider tables from the docstrings of
``face_verify.config`` and ``notify.config`` (each documents its own variables).
"""
import importlib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from backend.settings import Settings  # noqa: E402

PROVIDER_MODULES = (("Identity and face providers", "face_verify.config"),
                    ("Notification channels", "notify.config"))


def docstring_table(module_name: str) -> str:
    doc = importlib.import_module(module_name).__doc__ or ""
    return "\n".join(line for line in doc.splitlines() if line.startswith("|"))


def provider_tables() -> str:
    return "\n\n".join(f"#### {title} (`{module}`)\n\n{docstring_table(module)}"
                       for title, module in PROVIDER_MODULES)


def replace_block(text: str, name: str, content: str) -> str:
    pattern = rf"(<!-- {name}:start[^\n]*-->\n).*?(\n<!-- {name}:end -->)"
    return re.sub(pattern, lambda m: m.group(1) + content + m.group(2), text, flags=re.S)


def main() -> None:
    readme = ROOT / "README.md"
    text = replace_block(readme.read_text(), "settings", Settings.describe())
    text = replace_block(text, "provider-settings", provider_tables())
    readme.write_text(text)


if __name__ == "__main__":
    main()
