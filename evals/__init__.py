"""Question sets, the evaluation harness and the benchmarks (JSON results in ``evals/results/``); the top
layer, allowed to import everything.
"""
