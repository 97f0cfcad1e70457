"""Background work: the three queues, the tasks they run and the worker."""
