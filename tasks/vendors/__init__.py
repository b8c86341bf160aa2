"""The vendor register: its schema, its sources, the standard questionnaire, and how answers meet policy.

Kept apart from `tasks/collect/vendors.py` so that the collector only turns parsed records into rows.
"""
