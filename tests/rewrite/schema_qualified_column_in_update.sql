-- policies: policies/saas
-- context: {"tenant": {"id": "acme", "plan": "pro"}, "request": {"user": "ann", "roles": ["admin"]}}
-- dialect: postgres
UPDATE public.orders SET note = 'x' WHERE public.orders.amount > 3 RETURNING public.orders.id
