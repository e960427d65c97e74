"""Whether an index is stale: what differs between it and the corpus, embedder and
settings now."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from citeqa.corpus.extract import RAW, extractor_for
from citeqa.corpus.ingest import list_files, sha256_bytes
from citeqa.errors import IndexMismatchError
from citeqa.index.embed import Embedder
from citeqa.index.store import IndexSettings, check_embedder, read_manifest, verify_files

log = logging.getLogger(__name__)


def staleness(
    index_dir: Path,
    embedder: Embedder,
    settings: IndexSettings | None = IndexSettings(),
    corpus_dir: Path | None = None,
    *,
    corpus_optional: bool = False,
    verify: bool = True,
) -> list[str]:
    """What differs between the index and the corpus, embedder and settings now; empty
    when the index is fresh. Raises when the index is missing or corrupt.

    ``settings=None`` takes the index's own build choices (chunking, file size limit,
    index type) as given and checks only what this version of citeqa decides itself:
    the cleaning rules and the segmenter. That is how an index is served, whatever
    ``citeqa index`` flags built it.

    With ``corpus_optional`` (serving), a corpus folder that is not there at all is no
    difference: the index holds every passage it cites, so it can be built in one place
    and served from another. That is logged as one warning, since freshness cannot be
    checked then. A corpus folder that is there is compared as always.

    ``verify=False`` skips checking the index's own files against their checksums, for an
    index just loaded (``load_index`` checked them): hashing is most of the time this
    takes on a large index."""
    index_dir = Path(index_dir)
    manifest = read_manifest(index_dir)
    if verify:
        verify_files(index_dir, manifest)
    diffs: list[str] = []
    try:
        check_embedder(index_dir, manifest, embedder)
    except IndexMismatchError as exc:
        diffs.append(str(exc))
    have = manifest.get("settings", {})
    if settings is not None:
        want = settings.to_dict()
    else:
        ours = IndexSettings().to_dict()
        want = {**have, **{k: ours[k] for k in ("cleaning_rules", "segmenter")}}
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            diffs.append(f"setting {key}: index {have.get(key)!r}, now {want.get(key)!r}")
    root = Path(corpus_dir) if corpus_dir is not None else index_dir / manifest["corpus"]
    if corpus_optional and not root.exists():
        # Only absence: a path that exists but is not a folder is a changed corpus.
        log.warning(
            "index %s: its corpus folder %s is not here, so whether the index is fresh"
            " cannot be checked; answering from the %s passages it holds",
            index_dir,
            root.resolve(),
            manifest.get("counts", {}).get("passages", "?"),
        )
        return diffs
    diffs.extend(corpus_changes(manifest, root))
    return diffs


def corpus_changes(manifest: dict[str, Any], root: Path) -> list[str]:
    if not root.is_dir():
        return [f"corpus folder {root} is missing"]
    known = {**manifest.get("skipped_sources", {}), **manifest.get("sources", {})}
    files, _ = list_files(root)
    now = {p.relative_to(root).as_posix(): p for p in files}
    diffs = [f"added: {s}" for s in sorted(set(now) - set(known))]
    diffs += [f"removed: {s}" for s in sorted(set(known) - set(now))]
    for source in sorted(set(now) & set(known)):
        try:
            sha256: str | None = sha256_bytes(now[source].read_bytes())
        except OSError:  # indexed as unreadable (no fingerprint), or unreadable since
            sha256 = None
        if sha256 != known[source].get("sha256"):
            diffs.append(f"changed: {source}")
            continue
        # The same file through another extractor version may give another text, or text
        # at all where it was skipped. (Skips recorded before they named one: no check.)
        indexed = source in manifest.get("sources", {})
        was = known[source].get("extractor", RAW if indexed else None)
        would = extractor_for(now[source])
        if was is not None and was != would:
            skipped = "" if indexed else " (skipped)"
            diffs.append(f"extractor for {source}{skipped}: index {was}, now {would}")
    return diffs
