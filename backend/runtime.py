"""The long-lived collaborators a request needs, built once per process from the settings."""
from __future__ import annotations

import dataclasses

from backend.cache import Cache, create_cache
from backend.fieldcrypt import FieldCipher
from backend.settings import Settings


@dataclasses.dataclass
class Runtime:
    settings: Settings
    cache: Cache
    cipher: FieldCipher

    @classmethod
    def from_settings(cls, settings: Settings) -> "Runtime":
        cipher = FieldCipher(settings.resolved_data_keys(), settings.blind_index_key)
        return cls(settings=settings, cache=create_cache(settings.redis_url), cipher=cipher)
