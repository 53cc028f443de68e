"""The one exception family a person can meet on the air-gapped side."""


class FormatError(Exception):
    """A file is damaged, foreign, tampered with, or cannot be opened with what was given.

    The message is one line a person can act on; the command line prints it as is.
    """
