"""``TORTOISE_ORM`` for Tortoise's own CLI: ``python -m tortoise makemigrations`` (see README)."""
from backend.db import tortoise_config
from backend.settings import Settings

TORTOISE_ORM = tortoise_config(Settings.from_env())
