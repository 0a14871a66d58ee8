"""Moved to `runtime.loops`, below the client; re-exported so old imports keep working."""

from ..runtime.loops import (
    PerLoop as PerLoop,
)
from ..runtime.loops import (
    allow_nesting as allow_nesting,
)
from ..runtime.loops import (
    block_on as block_on,
)
from ..runtime.loops import (
    cancel_on_its_loop as cancel_on_its_loop,
)
from ..runtime.loops import (
    close_on_its_loop as close_on_its_loop,
)
from ..runtime.loops import (
    running_loop as running_loop,
)
