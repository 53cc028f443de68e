"""The online server of onion-dropbox: the reporter site, storage and the command line.

It encrypts everything a reporter sends to the responders' public keys on
arrival (through `keys`) and never holds a secret key that opens a report.
"""

__version__ = "0.2.0.dev0"  # the release this tree will become; see CHANGELOG.md
