"""Background jobs. The queue is SAQ on Redis (see ``queue.py`` for why); without Redis the
zero-setup default runs jobs in-process. ``python -m backend.jobs worker`` starts a worker."""
