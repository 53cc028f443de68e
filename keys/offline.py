"""The air-gapped side's two jobs, under the name they have always been imported by.

Opening a bundle is `keys.opening` (reading and verifying) writing into
`keys.opened_folder` (the folders, names and index.txt), with text from the
bundle shown through `keys.safe_text`; writing a reply is `keys.replying`,
sealed only to keys pinned with `keys trust` (`keys.pinning`). Scripts and
tests written against v0.1.0 import these names from here, so they stay here.
"""
from __future__ import annotations

from keys.opened_folder import ATTACHMENTS, FILES_PER_FOLDER, INDEX, REPORT, STATE, Opened
from keys.opening import MAX_TEXT, OpenReport, open_bundle
from keys.pinning import trusted_keys
from keys.replying import write_reply
from keys.safe_text import MAX_NAME_BYTES, render_report, sanitise_name, visible

__all__ = ["ATTACHMENTS", "FILES_PER_FOLDER", "INDEX", "MAX_NAME_BYTES", "MAX_TEXT", "REPORT",
           "STATE", "OpenReport", "Opened", "open_bundle", "render_report", "sanitise_name",
           "trusted_keys", "visible", "write_reply"]
