"""What keeps running beside a notebook's cells: the event-loop rules (`loops`) and class coordination
through Redis (`coordination`)."""
