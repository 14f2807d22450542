"""Real processes where the process is the subject: stdio, crashes, concurrency, replicas, sockets, the browser."""
