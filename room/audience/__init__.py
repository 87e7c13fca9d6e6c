"""The audience of an event: registration, access lists, sessions, statistics, exports,
certificates, and the letters with their outbox queue."""
