"""A local Neo4j for development and CI, fetched from Maven Central and managed by graphlinker (it is not a store)."""
