"""Sources: where documents come from (a folder, a web site, an S3 prefix) and how each
is kept in sync with the index.

    spec.py       SourceSpec (what the user added) and the pure rules: names, globs, --every
    registry.py   the workspace's sources.json (specs) and one state file per source
    folder.py     web.py  s3.py   one connector each: list documents, read the changed ones
    net.py        the one HTTP fetcher: scheme + address checks (SSRF), caps, timeouts
    sync.py       one sync: connector -> ingest (bytes -> chunks) -> state; the per-source lock
    schedule.py   when a source is due (--every, backoff after failures); pure
    watch.py      `ragstream watch`: inotify on folder sources, rescans, scheduled syncs

A connector yields `Doc`s: a key (the citation), a cheap version (size+mtime, ETag, HTTP
validators) and the bytes only when the version moved, so an unchanged source costs a
listing and no content reads. Ingest stays the one place that turns bytes into chunks.
"""
