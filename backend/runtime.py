"""The long-lived collaborators a request or a job needs, built once per process from settings."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping

from backend import metrics
from backend.cache import Cache, create_cache
from backend.fieldcrypt import FieldCipher
from backend.jobs.queue import JobQueue, create_queue
from backend.pki import PlatformPKI
from backend.settings import Settings
from face_verify.config import Providers, build_providers
from notify.api import Channel
from notify.config import NotifyChannels, build_channels
from sign.crypto.sm3 import hmac_sm3


@dataclasses.dataclass
class Runtime:
    settings: Settings
    cache: Cache
    cipher: FieldCipher
    jobs: JobQueue
    #: Key of the HMAC that binds H5 session cookies, derived from the first data key.
    session_key: bytes
    #: Where provider settings (notify/, face_verify/) are read from; None = os.environ.
    environ: Mapping[str, str] | None = None
    _channels: NotifyChannels | None = None
    _providers: Providers | None = None
    _storage: object | None = None

    @classmethod
    def from_settings(cls, settings: Settings,
                      environ: Mapping[str, str] | None = None) -> "Runtime":
        keys = settings.resolved_data_keys()
        cipher = FieldCipher(keys, settings.blind_index_key)
        runtime = cls(settings=settings, cache=create_cache(settings.redis_url), cipher=cipher,
                      jobs=create_queue(settings.redis_url),
                      session_key=hmac_sm3(keys[0][1], b"h5-session-cookie"), environ=environ)
        if hasattr(runtime.jobs, "context"):
            runtime.jobs.context["runtime"] = runtime  # in-process jobs share this runtime
        return runtime

    def channel(self, name: str) -> Channel:
        """The notify channel by name, built on first use from the environment (notify.config);
        its duplicate guard keeps results in this runtime's cache (Redis when configured)."""
        if self._channels is None:
            env = dict(os.environ if self.environ is None else self.environ)
            env.setdefault("ENV", self.settings.env)
            self._channels = build_channels(env, results=self.cache)
        return metrics.instrumented(self._channels[name], f"notify:{name}")

    def pki(self) -> PlatformPKI:
        """The platform CA, seal-making identity and key store (created on first use)."""
        return PlatformPKI.for_settings(self.settings)

    def storage(self):
        """The content-addressed file store (``documents.storage``) from STORAGE_URL (see
        ``backend.services.file_store``), built on first use."""
        if self._storage is None:
            from backend.services.file_store import build_storage
            self._storage = build_storage(self.settings)
        return self._storage

    def identity(self) -> Providers:
        """Identity, enterprise and face providers, built on first use from the environment
        (face_verify.config: IDENTITY_PROVIDER, FACE_PROVIDER, ...)."""
        if self._providers is None:
            built = build_providers(self.environ)
            self._providers = dataclasses.replace(  # calls measured (backend.metrics)
                built, **{kind: metrics.instrumented(getattr(built, kind), kind)
                          for kind in ("identity", "enterprise", "face")})
        return self._providers

    async def close(self) -> None:
        if self._providers is not None:
            await self._providers.aclose()
        if self._channels is not None:
            await self._channels.aclose()
        if self._storage is not None and hasattr(self._storage, "close"):
            self._storage.close()
        await self.jobs.close()
        await self.cache.close()
