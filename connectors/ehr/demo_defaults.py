"""The embedded demo defaults of the EHR feed configuration (used when no ehr.toml is given).

The plan crosswalk and chargemaster are the synthetic EHR's (``revcycle.synth_ehr``); the facility is a demo
clinic with a made-up NPI that passes the check digit. A practice replaces all of it with its own ``ehr.toml``.
"""

DEMO_CONFIG_TOML = """
chargemaster_csv = '''
code,procedure_code,modifiers
CDM1001,11102,
CDM1002,20610,
CDM1003,36415,
CDM1004,71046,
CDM1005,73030,
CDM1006,80053,
CDM1007,81002,
CDM1008,85025,
CDM1009,90471,
CDM1010,90686,
CDM1011,93000,
CDM1012,97110,
CDM1013,99202,
CDM1014,99203,
CDM1015,99204,
CDM1016,99212,
CDM1017,99213,
CDM1018,99214,
CDM1019,99215,
CDM1020,99395,
CDM1021,99396,
CDM1022,G0439,
CDM1023,J1100,
CDM1024,J3301,
'''
default_facility = "DEMO"

[facilities.DEMO]
billing_npi = "1999999984"
billing_tax_id = "990000001"
billing_name = "REVCYCLE DEMO CLINIC"
billing_address1 = "1 Demo Plaza"
billing_city = "Springfield"
billing_state = "IL"
billing_zip = "627011234"
place_of_service = "11"

[[plans]]
ehr_plan_id = "PLN-MCDST"
ehr_company_id = "INS-MCDST"
payer_id = "MCDST"
claim_filing_indicator = "MC"

[[plans]]
ehr_plan_id = "PLN-MCRPB"
ehr_company_id = "INS-MCRPB"
payer_id = "MCRPB"
claim_filing_indicator = "MB"

[[plans]]
ehr_plan_id = "PLN-SUMMT"
ehr_company_id = "INS-SUMMT"
payer_id = "SUMMT"
claim_filing_indicator = "CI"
"""
