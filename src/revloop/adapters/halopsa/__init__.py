"""The HaloPSA connector: ``HaloClient`` (client.py) over Halo's REST API, its client-credentials auth
(auth.py), lenient wire models (wire.py), the mapping to typed records (mapping.py), rate-limit pacing
(pacing.py) and error mapping (errors.py)."""

from .client import HaloClient
from .mapping import Mapped
from .pacing import RetryPolicy, Wait

__all__ = ["HaloClient", "Mapped", "RetryPolicy", "Wait"]
