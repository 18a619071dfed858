"""Building and rendering outputs: the cluster report in every format, and the template table."""
