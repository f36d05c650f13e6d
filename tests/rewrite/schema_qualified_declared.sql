-- policies: policies/healthcare
-- context: {"tenant": {"id": "st-marys"}, "request": {"user": "dr-who", "roles": ["clinician"]}}
-- dialect: postgres
SELECT a.action FROM audit.access_log AS a
