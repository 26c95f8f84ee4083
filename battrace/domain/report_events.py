"""The life of a traceability report as events of its consignment's chain: drafted, then co-signed or refused.

A report's approvals are sealed like everything else: the manufacturer's draft (with its QA signature) and each
review by the third-party verifier (a co-signature, or a refusal with reasons) enter the consignment's chain, so
deleting or editing a report, or hiding a refusal, breaks the seal. What counts as certified is decided by the
verifier's pinned keys, never by these events alone.
"""

from __future__ import annotations

REPORT_DRAFTED = "ReportDrafted"  # the report body and the manufacturer's signature
REPORT_COSIGNED = "ReportCosigned"  # a reviewer's signature over the same report hash
REPORT_REFUSED = "ReportRefused"  # a reviewer's signed refusal, with its reasons
REPORT_KINDS = frozenset({REPORT_DRAFTED, REPORT_COSIGNED, REPORT_REFUSED})
REVIEW_KINDS = frozenset({REPORT_COSIGNED, REPORT_REFUSED})
