"""What keeps running beside a notebook's cells: the one poller (`tracking`), the thumbnail and original
loader (`thumbnails`), the journal of submitted jobs (`journal`), the event-loop rules (`loops`), the
process-wide registries (`registry`) and class coordination through Redis (`coordination`)."""
