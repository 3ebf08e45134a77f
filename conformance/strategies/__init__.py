"""Hypothesis strategies shared by the tests and the conformance runner.

One set of strategies serves both: a failure the runner finds shrinks exactly as
a failing property test does. Each strategy builds valid cases by construction
(never by filtering) and documents what it shrinks towards.
"""
