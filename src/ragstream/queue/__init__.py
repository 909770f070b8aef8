"""Ingest as a queue: uploads and syncs enqueue, `ragstream worker` processes embed.

    blobs.py   where a document's bytes wait for a worker (a directory or S3)
    jobs.py    the job table in PostgreSQL: claim (SKIP LOCKED), lease, retry, dead letter
    intake.py  uploads (page and API) in a fleet: checked, to the blob store, queued
    worker.py  the loop a worker runs: claim -> read bytes -> ingest -> done/failed

Lower floor than commands/: it never imports workspace.py; the worker is handed an
`Ingestor` factory by its caller.
"""
