"""Running a sweep: one run (pipeline), the loop over the grid (sweep), the checks before any work
(validate), writing run folders, and the planted-truth experiment."""
