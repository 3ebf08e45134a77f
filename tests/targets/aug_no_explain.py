"""A pytest plugin for the runner tests (``cnnspec run ... -- -p tests.targets.aug_no_explain``):
Hypothesis without its ``explain`` phase, which re-runs a shrunk failure many times only to
annotate the printout. Detection, shrinking and the report are unchanged; a failing op costs
seconds instead of tens of seconds."""

from hypothesis import Phase, settings

settings.register_profile("cnnspec-no-explain", phases=[p for p in Phase if p is not Phase.explain])
settings.load_profile("cnnspec-no-explain")
