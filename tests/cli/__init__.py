"""The command line: admin commands, the terminal views, start-up failures, configs."""
