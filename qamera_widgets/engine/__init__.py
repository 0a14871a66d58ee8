"""What keeps running beside a notebook's cells; today: class coordination through Redis (`coordination`)."""
