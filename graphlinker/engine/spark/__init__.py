"""The Spark engine (``--engine spark``): ingest as Spark jobs that leave the store what the embedded engine leaves."""
