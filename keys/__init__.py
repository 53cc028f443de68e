"""The air-gapped side of onion-dropbox and its crypto format.

Responder key pairs, envelopes, bundles, and reading and replying offline.
Runs with the standard library and PyNaCl alone: it never imports the web
server (`dropbox`), tor (`onion`) or Flask. The format is docs/FORMAT.md.
"""
