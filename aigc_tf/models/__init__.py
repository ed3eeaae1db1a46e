"""Models of the course, one module each."""
