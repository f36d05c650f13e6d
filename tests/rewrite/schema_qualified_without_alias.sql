-- policies: policies/healthcare
-- context: {"tenant": {"id": "st-marys"}, "request": {"user": "dr-who", "roles": ["clinician"]}}
-- dialect: postgres
SELECT * FROM audit.access_log
