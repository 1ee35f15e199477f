"""The creditctl command line: the composition root for humans."""
