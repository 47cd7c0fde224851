"""A port of the HL7 terminology ecosystem test runner (TxTester in hapifhir/org.hl7.fhir.core).

It reads a tx-ecosystem `test-cases.json` folder, sends every selected test to a terminology
server the way the official Java runner does, then scrubs, sorts and compares each response with
the expected file using the template rules of CompareUtilities. Modules:

- `manifest`: loading suites and tests, modes and selection
- `client`: building and sending the HTTP requests, FHIR version negotiation
- `convert`: the small R5 <-> R4 conversions an R4 server needs
- `scrub`, `sort`: normalising the actual response before comparison
- `compare`: template matching and the ordered-array algorithm
- `runner`: orchestration; `report`: console lines and the JSON report
"""

from tools.txtests.runner import RunOptions, RunReport, run

__all__ = ["RunOptions", "RunReport", "run"]
