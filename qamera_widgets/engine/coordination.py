"""Moved to `runtime.coordination`, below the client; re-exported so old imports keep working."""

from ..runtime.coordination import (
    REDIS_URL_ENV as REDIS_URL_ENV,
)
from ..runtime.coordination import (
    ClassCoordinator as ClassCoordinator,
)
from ..runtime.coordination import (
    ClassModeOff as ClassModeOff,
)
from ..runtime.coordination import (
    booked_slot as booked_slot,
)
from ..runtime.coordination import (
    coordinator as coordinator,
)
from ..runtime.coordination import (
    display_url as display_url,
)
from ..runtime.coordination import (
    key_namespace as key_namespace,
)
from ..runtime.coordination import (
    reserve_slot as reserve_slot,
)
from ..runtime.coordination import (
    shared_list as shared_list,
)
