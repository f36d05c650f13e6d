//! The fourth form of `pg_speed`: native RLS for `policies/saas` as a careful
//! team would write it by hand, each context setting read once per statement
//! (a scalar subquery, so an InitPlan) and each role test one boolean InitPlan.

/// Why the policies name a role: the hand-written set and the one from
/// `emit-postgres` sit on the same tables (same rows, same statistics), each
/// applying to its own non-owner role only, so that both can be measured in
/// the same rounds without swapping DDL.
///
/// `TO PUBLIC` in the emitted DDL becomes `TO role`: the policies a role sees
/// are then exactly the emitted ones. Panics if the DDL no longer has one
/// `TO PUBLIC` per `CREATE POLICY` (the bench would measure something else).
pub fn emitted_for_role(ddl: &str, role: &str) -> String {
    let policies = ddl.matches("CREATE POLICY").count();
    let public = ddl.matches(" TO PUBLIC").count();
    assert_eq!(
        policies, public,
        "emit-postgres DDL: expected one `TO PUBLIC` per policy"
    );
    ddl.replace(" TO PUBLIC", &format!(" TO {role}"))
}

/// The same meaning as `policies/saas`, written by hand for `role`.
///
/// A permissive policy per command (PostgreSQL ORs the USING clauses of the
/// permissive policies, and separately their CHECK clauses, so merging the
/// `.policy` file's policies of one command into one keeps the meaning); the
/// restrictive tenant isolation per table. `memberships` in the `projects`
/// subquery is itself under RLS, as in the `.policy` files.
pub fn policies(role: &str) -> String {
    let tenant = "(SELECT current_setting('rampart.tenant_id'))";
    let user = "(SELECT current_setting('rampart.request_user'))";
    let has =
        |r: &str| format!("(SELECT '{r}' = ANY(current_setting('rampart.request_roles')::text[]))");
    let admin = has("admin");
    let member = has("member");
    let mut out = String::new();
    for table in ["users", "orders", "memberships", "projects"] {
        out.push_str(&format!(
            "CREATE POLICY {table}_hand_tenant ON {table} AS RESTRICTIVE FOR ALL TO {role}
               USING (tenant_id = {tenant}) WITH CHECK (tenant_id = {tenant});\n"
        ));
    }
    out.push_str(&format!(
        "
CREATE POLICY users_hand_read ON users FOR SELECT TO {role} USING (true);
CREATE POLICY users_hand_update ON users FOR UPDATE TO {role}
  USING (id = {user} OR {admin}) WITH CHECK (id = {user} OR {admin});
CREATE POLICY users_hand_insert ON users FOR INSERT TO {role} WITH CHECK ({admin});
CREATE POLICY users_hand_delete ON users FOR DELETE TO {role} USING ({admin});

CREATE POLICY orders_hand_read ON orders FOR SELECT TO {role}
  USING ({admin} OR ({member} AND owner = {user}));
CREATE POLICY orders_hand_insert ON orders FOR INSERT TO {role}
  WITH CHECK (({member} OR {admin}) AND owner = {user} AND amount >= 0 AND status = 'open');
CREATE POLICY orders_hand_update ON orders FOR UPDATE TO {role}
  USING ({admin} OR ({member} AND owner = {user} AND status = 'open'))
  WITH CHECK (({admin} AND amount >= 0 AND status IN ('open', 'paid', 'shipped', 'cancelled'))
           OR ({member} AND owner = {user} AND amount >= 0 AND status IN ('open', 'cancelled')));
CREATE POLICY orders_hand_delete ON orders FOR DELETE TO {role} USING ({admin});

CREATE POLICY memberships_hand_read ON memberships FOR SELECT TO {role}
  USING (user_id = {user} OR {admin});
CREATE POLICY memberships_hand_insert ON memberships FOR INSERT TO {role} WITH CHECK ({admin});
CREATE POLICY memberships_hand_update ON memberships FOR UPDATE TO {role}
  USING ({admin}) WITH CHECK ({admin});
CREATE POLICY memberships_hand_delete ON memberships FOR DELETE TO {role} USING ({admin});

CREATE POLICY projects_hand_read ON projects FOR SELECT TO {role}
  USING ({admin} OR EXISTS (SELECT 1 FROM memberships m
                            WHERE m.user_id = {user} AND m.org_id = projects.org_id));
CREATE POLICY projects_hand_update ON projects FOR UPDATE TO {role}
  USING ({admin} OR EXISTS (SELECT 1 FROM memberships m
                            WHERE m.user_id = {user} AND m.org_id = projects.org_id))
  WITH CHECK ({admin} OR EXISTS (SELECT 1 FROM memberships m
                                 WHERE m.user_id = {user} AND m.org_id = projects.org_id));
CREATE POLICY projects_hand_insert ON projects FOR INSERT TO {role}
  WITH CHECK ({admin} OR (NOT archived AND EXISTS (SELECT 1 FROM memberships m
                            WHERE m.user_id = {user} AND m.org_id = projects.org_id)));
CREATE POLICY projects_hand_delete ON projects FOR DELETE TO {role} USING ({admin});
"
    ));
    out
}
