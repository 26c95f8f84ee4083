"""What a test published, apart from the report steps the pipeline publishes itself on reports.events.

Every delivered consignment's report draft is an event the worker publishes and seals into the consignment's chain;
a test that balances what it published against what was sealed or rejected counts those apart.
"""

NOT_STEPS = "source_topic != 'reports.events'"  # a condition on rejects (or events) rows
PUBLISHED = f"event_id IN (SELECT event_id FROM battrace.events WHERE {NOT_STEPS})"  # a condition on sealed rows
SEALED_PUBLISHED = f"SELECT DISTINCT event_id FROM battrace.sealed FINAL WHERE {PUBLISHED}"
REJECTED_PUBLISHED = f"SELECT count() FROM battrace.rejects FINAL WHERE {NOT_STEPS}"
