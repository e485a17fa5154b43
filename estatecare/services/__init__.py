"""Service layer: one function per use case, one database transaction each."""
