"""GS1 EPCIS 2.0: sealed events as EPCIS events, the EPCIS document, its JSON schema and the GS1 event hash."""
