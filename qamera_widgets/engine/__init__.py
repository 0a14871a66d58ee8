"""What keeps running beside a notebook's cells: the one poller (`tracking`), the thumbnail and original
loader (`thumbnails`), the journal of submitted jobs (`journal`), and the pure models the views draw.

The event-loop rules, the process-wide registries and class coordination moved below the client, to
`qamera_widgets.runtime`; `runtime.loops`, `runtime.registry` and `runtime.coordination` re-export them."""
