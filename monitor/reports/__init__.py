"""Clinician reports: the data a report needs (`data`), the PDF (`pdf`) and FHIR (`fhir`).

Qt-free. Every format reads one frozen `ReportData`, so the PDF, the FHIR bundle and the
de-identified variants agree on every number.
"""
