"""What the app's own WSGI middleware (the access log, replay) share."""
from __future__ import annotations


def recording(start_response, sent: list):
    """`start_response` that also notes the status and headers it is given in `sent`."""
    def record(status, headers, exc_info=None):
        sent[:] = status, headers
        return start_response(status, headers, exc_info)
    return record
