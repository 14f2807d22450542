"""GitLab's offset-paged lists read the way an agent pages a local one: an opaque cursor, an honest total.

GitLab pages by `page` and `per_page` (at most 100) and says what follows in `X-Next-Page` (empty on the
last page) and how many matched in `X-Total` (left out above 10,000; doc/api/rest/_index.md). Two things
it cannot do in one list:

- Some of the tracker's filters mean "no label of a scope" (backlog, task, medium). `scan` reads pages
  and keeps what the exact filter keeps, at most SCAN_PAGES pages of each list per call.
- The user's issues across several groups and personal projects are several lists. `scan` merges them
  in the order each is sorted in, and stops early rather than guess when a list it could not read far
  enough might hold the next ticket.

`scan` and the cursor (where each list's next ticket is, how many came before, a fingerprint of the
query) live in remotes/page_scan.py, shared with GitHub; this module keeps GitLab's own limits.
"""

from __future__ import annotations

from tickets_mcp.remotes.page_scan import Page, Position, Reader, Slice, decode_position, encode_position, scan

__all__ = ["PER_PAGE_MAX", "Page", "Position", "Reader", "Slice", "decode_position", "encode_position", "scan"]

PER_PAGE_MAX = 100  # GitLab's cap on per_page
