"""The analyst Cypher pack: query files (package data), header parsing, parameter binding, read-only execution."""
