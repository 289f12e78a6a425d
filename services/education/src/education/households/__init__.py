"""A household's 义务教育有保障 dimension: assessed, published when it changes, answered live."""
