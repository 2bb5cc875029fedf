"""Weak-to-strong training on language models, and the readers that check its results.

The Python API a notebook needs (imported lazily: ``import empirics`` loads no torch)::

    import empirics
    sweep = empirics.preset("tiny").with_options({"data_dir": "data/", "seeds": [0, 1]})
    empirics.run_sweep(sweep, "results/tiny")          # resumable: rerun to finish
    runs = empirics.load_runs("results/tiny")           # every finished run: RunRecord (spec, metrics)
    empirics.summarize("results/tiny")                  # accuracies with intervals over seeds
    for claim in empirics.evaluate_claims("results/tiny"):
        print(claim.statement, claim.verdict, claim.numbers())
    empirics.readers.audit("results/tiny")                      # the bounds on every run, written to audit/

``examples/tiny_sweep.py`` runs exactly this on a data set it writes itself.
"""

from importlib import import_module

_EXPORTS = {
    "PRESETS": "empirics.plans.presets",
    "preset": "empirics.plans.presets",
    "Sweep": "empirics.plans.experiment",
    "Experiment": "empirics.plans.experiment",
    "GridConfig": "empirics.plans.options",
    "RunSpec": "empirics.plans.spec",
    "Noise": "empirics.registries.noise",
    "LOSSES": "empirics.registries.losses",
    "run_sweep": "empirics.runs.sweep",
    "Pipeline": "empirics.runs.pipeline",
    "load_runs": "empirics.readers.run_folder",
    "RunRecord": "empirics.readers.run_folder",
    "summarize": "empirics.readers.summary",
    "summary_markdown": "empirics.readers.summary",
    "evaluate_claims": "empirics.readers.claims",
    "write_claims": "empirics.readers.claims",
    "CLAIMS": "empirics.readers.claims",
    "audit": "empirics.readers.audit",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'empirics' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
