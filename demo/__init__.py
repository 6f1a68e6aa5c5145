"""Demo scripts and the command-line options they share."""
