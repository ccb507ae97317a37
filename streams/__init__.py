"""Event ingestion: schemas, the stream consumer, state writers, dead letters and simulators."""
