"""The live event stream (``GET /events/stream``): Server-Sent Events relayed from JetStream.

- :mod:`.plan`: which streams and subjects a caller reads, and the resume token (pure).
- :mod:`.redaction`: strips personal data from an event for callers without ``pii:read``
  (and for the dashboards' public feed, :mod:`gateway.public_feed`).
- :mod:`.limits`: open streams per caller.
- :mod:`.response`: the SSE response (a client leaving is a normal end).
- :mod:`.relay`: the NATS part (ephemeral pull consumers feeding one bounded queue).
- :mod:`.endpoints`: the thin HTTP route.
"""
