"""The claims lab: every claim the seed makes about a network, as an experiment with a verdict.

    cnnzoo claims list
    cnnzoo claims run alexnet-techniques --budget cpu
    cnnzoo claims report

A claim (:class:`Claim`) names the seed's sentence, the paper, the experiment (the variants to
train or measure, at each budget) and the rule that turns the measurements into
*reproduced*, *not reproduced* or *inconclusive* (:mod:`cnnzoo.claims.stats`). The jobs run on
the design-space executors (a local process pool or Ray) and are recorded per claim, so that a
killed run resumes (:mod:`cnnzoo.claims.runner`); :mod:`cnnzoo.claims.report` writes the
Markdown and HTML report.
"""

from cnnzoo.claims.core import BUDGETS, Analysis, Claim, Finding, Job, get_claim, list_claims
from cnnzoo.claims.runner import DEFAULT_ROOT, analyse, run_claims

__all__ = [
    "BUDGETS",
    "DEFAULT_ROOT",
    "Analysis",
    "Claim",
    "Finding",
    "Job",
    "analyse",
    "get_claim",
    "list_claims",
    "run_claims",
]
