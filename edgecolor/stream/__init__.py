"""Streaming: sources -> bounded queue -> engine -> stabiliser -> sinks, with live controls."""
