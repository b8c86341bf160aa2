"""Model drift evidence: statistics (PSI, KS), report parsers and the model inventory.

Plain functions over plain data, so that the collectors in `tasks/collect/` stay thin and every
parser and statistic can be checked against hand-computed values without AWS.
"""
