"""The hot read path: one door (``ReadPath.read_visible``) to the reads of one application that the
service answers most, and everything they keep in memory, held per application on ``app.state.read_path``.

The fast paths and their invariants. ``GET /applications/{id}`` and ``GET /applications/{id}/form.pdf``
each go through ``read_visible`` with a *view* (``app.applications.reading``, ``app.documents.form_cache``),
on one of two data paths, one per backend (``door``): SQLite in one read transaction on the event loop's
own connection; PostgreSQL in one statement awaited on the loop for a hinted API key whose answer is
kept, otherwise whole on one read-only snapshot in a read thread. What makes this safe:

- a hinted API key (``hints``) is checked in the same statement as the row, by the resolver's own
  condition (``app.accounts.principal.api_key_grants``) and the facts of its principal, so a revocation,
  a deactivation or a change of roles counts from the next request, on every instance;
- a kept body (``kept.Representations``) is named by the application's ``(id, version, updated_at)``
  and the caller's actions: every change to an application or its sign-offs moves ``version`` through a
  compare-and-set (``tests/readpath/test_versions.py``), and a committed version never changes, so
  nothing is invalidated and instances need agree on nothing;
- a kept form (``kept.KeptForms``) is named by a stamp covering everything it prints;
- the ETag names the body the caller gets (version and a digest of their actions): another caller's
  cached copy never revalidates to 304.

Sizes come from ``Settings`` (``SMPS_READ_*``).
"""

from app.readpath.door import ReadPath, View, Visible, install, read_path_of
from app.readpath.hints import STILL_GRANTS

__all__ = ["STILL_GRANTS", "ReadPath", "View", "Visible", "install", "read_path_of"]
