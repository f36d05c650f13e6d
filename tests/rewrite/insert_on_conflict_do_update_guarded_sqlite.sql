-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "bob", "roles": ["member"]}}
-- dialect: sqlite
INSERT INTO orders (id, amount, status) VALUES (?1, ?2, 'open') ON CONFLICT (id) DO UPDATE SET amount = excluded.amount RETURNING id
