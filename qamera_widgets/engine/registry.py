"""Moved to `runtime.registry`, below the client; re-exported so old imports keep working."""

from ..runtime.registry import (
    ProcessWide as ProcessWide,
)
