"""A runnable demo SaaS built on Switchyard (``make demo``)."""
