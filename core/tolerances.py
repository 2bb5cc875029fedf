"""One named tolerance per tolerance class; every check in the report and in paper_checks uses these."""

IDENTITY_TOL = 1e-12  # |lhs - rhs| of an exact identity evaluated in float64 (values of order 1)
FP_INEQUALITY_SLACK = 1e-12  # lhs <= rhs + slack for inequalities evaluated in float64
CERTIFIED_SLACK = 1e-12  # added to a solver's certificate gap g: slack >= -(g + CERTIFIED_SLACK)
HIGH_PRECISION_REL = 1e-9  # a 50-digit supremum may exceed its claimed constant by this factor at most
GRADIENT_TOL = 1e-10  # closed-form gradients against torch autograd in float64
FIGURE1_FIT_TOL = 1e-6  # forward fit: closed form against direct quadrature minimisation
FIGURE1_MODE_MEAN_TOL = 0.1  # reverse fit mean within this of a mode
FIGURE1_MODE_SD_REL = 0.10  # reverse fit sd within 10 % of that component's
FIGURE1_SEPARATION_TOL = 0.005  # a_sn and a* within this of docs/theory.md's values
NONCONVEX_VIOLATION_TOL = 1e-9  # a non-convex fit (>= 10 starts agreeing to 1e-10) violates only beyond this
ROW_SUM_TOL = 1e-9  # how far a row of a distribution may sum from 1 before it is rejected
REQUIRED_GAP_REL = (
    1e-10  # a simplex/binary-head solve is certified when its Frank-Wolfe gap g <= this * max(1, J)
)
FIGURE1_GRAD_TOL = (
    1e-7  # a reverse-KL local minimum is accepted when |grad| <= this (quadrature noise ~1e-12)
)
SOFTMAX_GRAD_TOL = 1e-9  # the convex (forward) softmax fit is certified when |grad| <= this
NONCONVEX_AGREE_TOL = (
    1e-10  # starts of the non-convex softmax fit "agree" when their values differ by <= this
)
NONCONVEX_AGREE_STARTS = 10  # ... and the fit counts when at least this many starts agree
MIN_DISAGREEMENT, MIN_TEACHER_ERROR = 1e-4, 1e-3  # non-degenerate last-layer instances (docs/theory.md R4)
THEOREM2_SLACK_FLOOR = -1e-9  # the signed slack of Theorem 2 never goes below this
INTERIOR_EQUALITY_TOL = 1e-9  # |slack| where the reverse solution is interior (the equality case)
FINITE_SAMPLE_SLOPE_TARGET = (-0.6, -0.4)  # the bootstrap CI of the log-log slope must meet this interval
WITNESS_REL = 0.01  # the tightness witness's ratio lies within this fraction of C*
ADVERSARIAL_ATTAINED = 0.98  # the adversarial supremum reaches at least this fraction of C*
FIXTURE_RECHECK_TOL = 1e-9  # a saved counterexample re-solved from its file reproduces its slack to this
FLOAT_GUIDANCE_REL = (
    1e-6  # an adversarial candidate is verified when float64 and 50 digits agree on its ratio
)
LOGISTIC_GRAD_TOL = 1e-8  # a second-order logistic head is certified when max |dJ/dv| <= this
