"""Who may act and what they touched: sign-in sessions, the sign-in throttle and the patient-data
access log. Operational state in plain PostgreSQL tables, not clinic facts (ADRs 4 and 5)."""
