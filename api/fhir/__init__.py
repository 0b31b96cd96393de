"""The read-only FHIR R4 (4.0.1) API: `resources` maps read models to FHIR resources,
`routes` serves them under `/fhir` (docs/fhir.md)."""
