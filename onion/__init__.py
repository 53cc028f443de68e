"""Everything about tor: onion service keys and addresses, client authorization, and a
small wrapper around stem that launches or attaches to tor and publishes services.

It knows nothing of Flask or of reports: `dropbox` asks it to publish local ports.
"""
