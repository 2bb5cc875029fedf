"""One named tolerance per tolerance class; every check in the report and in paper_checks uses these."""

IDENTITY_TOL = 1e-12  # |lhs - rhs| of an exact identity evaluated in float64 (values of order 1)
FP_INEQUALITY_SLACK = 1e-12  # lhs <= rhs + slack for inequalities evaluated in float64
CERTIFIED_SLACK = 1e-12  # added to a solver's certificate gap g: slack >= -(g + CERTIFIED_SLACK)
HIGH_PRECISION_REL = 1e-9  # a 50-digit supremum may exceed its claimed constant by this factor at most
GRADIENT_TOL = 1e-10  # closed-form gradients against torch autograd in float64
FIGURE1_FIT_TOL = 1e-6  # forward fit: closed form against direct quadrature minimisation
FIGURE1_MODE_MEAN_TOL = 0.1  # reverse fit mean within this of a mode
FIGURE1_MODE_SD_REL = 0.10  # reverse fit sd within 10 % of that component's
FIGURE1_SEPARATION_TOL = 0.005  # a_sn and a* within this of THEORY.md's values
NONCONVEX_VIOLATION_TOL = 1e-9  # a non-convex fit (>= 10 starts agreeing to 1e-10) violates only beyond this
