"""Fixtures of the socket tests: a private redis-server to kill (`tests.own_redis`)."""

from tests.own_redis import own_redis

__all__ = ["own_redis"]
