"""Office 365 (Microsoft 365) app: Management Activity API audit records and their normalizer."""
