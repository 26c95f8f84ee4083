"""The four kinds of source record, named by their Avro schema's full name.

Domain rules branch on which kind of record they hold; the names are the schemas' own (schemas/catalog.py
indexes the contracts by them), kept here so the rules need nothing from the wire layer.
"""

MES_EVENT = "battrace.mes.MesEvent"
LOGISTICS_EVENT = "battrace.logistics.LogisticsEvent"
ASSAY_RESULT = "battrace.assay.AssayResult"
LICENSED_ENTITY = "battrace.registry.LicensedEntity"
REPORT_EVENT = "battrace.reports.ReportEvent"
