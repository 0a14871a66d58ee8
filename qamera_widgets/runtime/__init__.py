"""The bottom layer: what every layer needs and that is no one layer's business.

The event-loop rules (`loops`), the one shape of process-wide state (`registry`) and class coordination
through Redis (`coordination`: the shared request window and list tick the client paces itself by). It
imports nothing from the package but `contract`, so the client, the engine and the widgets can all use it.
"""
