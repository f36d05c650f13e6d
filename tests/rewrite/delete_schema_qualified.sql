-- policies: policies/healthcare
-- context: {"tenant": {"id": "st-marys"}, "request": {"user": "dr-who", "roles": ["clinician"]}}
-- dialect: postgres
DELETE FROM audit.access_log WHERE id = 1
