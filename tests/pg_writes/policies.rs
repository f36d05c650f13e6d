//! Random policy sets for the write test, as policy text: two tables (`t2`
//! sometimes left out) keyed by `id`, sometimes with presets (`tenant_id =
//! tenant.id`, `owner = request.user`), policies per command and role built
//! on `random_sets::bool_expr`, plus tenant, owner and timestamp conditions
//! and, on `t1`, `exists` over `t2` (seen through `t2`'s own SELECT
//! policies; `t2` is sometimes an open table).

use rampart::lang::model::Ty;

use crate::random_sets::{bool_expr, policy_with, text_literal, Col, Rng, TEXTS};

fn col(name: &str, ty: Ty, nullable: bool) -> Col {
    Col {
        name: name.into(),
        ty,
        nullable,
    }
}

/// The text of a random set.
pub fn policy_text(rng: &mut Rng) -> String {
    let mut out = String::from(
        "context tenant { id: text }\ncontext request { user: text, roles: set<text> }\n",
    );
    let tables = if rng.chance(80) { 2 } else { 1 };
    let mut declared: Vec<Vec<Col>> = Vec::new();
    let mut open = false;
    for t in 0..tables {
        // `t2` open (read and written by all, no policies) sometimes.
        open = t == 1 && rng.chance(15);
        let mut cols = vec![col("id", Ty::Int, false)];
        let mut decl = vec!["id: int".to_string()];
        if rng.chance(50) {
            cols.push(col("tenant_id", Ty::Text, false));
            decl.push("tenant_id: text = tenant.id".into());
        }
        if rng.chance(30) {
            cols.push(col("owner", Ty::Text, false));
            decl.push("owner: text = request.user".into());
        }
        let types = [
            (Ty::Int, false),
            (Ty::Int, true),
            (Ty::Text, false),
            (Ty::Text, true),
            (Ty::Bool, true),
            (Ty::Float, true),
            (Ty::Timestamp, true),
        ];
        for c in 1..=2 + rng.below(3) {
            let (ty, nullable) = *rng.pick(&types);
            let name = format!("c{c}");
            decl.push(format!("{name}: {ty}{}", if nullable { "?" } else { "" }));
            cols.push(col(&name, ty, nullable));
        }
        declared.push(cols);
        let t = declared.len();
        let keyword = if open { "open table" } else { "table" };
        out.push_str(&format!("{keyword} t{t} {{ {} }}\n", decl.join(", ")));
    }
    for (t, cols) in declared.iter().enumerate() {
        if t == 1 && open {
            continue;
        }
        let other = (t == 0).then(|| declared.get(1)).flatten();
        for p in 1..=1 + rng.below(4) {
            out.push_str(&policy(rng, t + 1, p, cols, other));
        }
    }
    out
}

fn policy(rng: &mut Rng, table: usize, n: usize, cols: &[Col], other: Option<&Vec<Col>>) -> String {
    policy_with(rng, table, n, 30, |rng| condition(rng, cols, other))
}

/// A policy condition: `bool_expr`, a tenant / owner / `exists` condition,
/// or both joined.
fn condition(rng: &mut Rng, cols: &[Col], other: Option<&Vec<Col>>) -> String {
    let base = bool_expr(rng, cols, 2);
    let Some(extra) = extra(rng, cols, other) else {
        return base;
    };
    match rng.below(4) {
        0 => extra,
        1 => format!("({base}) and {extra}"),
        2 => format!("({base}) or {extra}"),
        _ => base,
    }
}

fn has(cols: &[Col], name: &str) -> bool {
    cols.iter().any(|c| c.name == name)
}

/// A condition on the preset columns or through `exists`, when the table
/// has what it needs.
fn extra(rng: &mut Rng, cols: &[Col], other: Option<&Vec<Col>>) -> Option<String> {
    let mut options: Vec<String> = Vec::new();
    if has(cols, "tenant_id") {
        options.push("tenant_id == tenant.id".into());
    }
    if has(cols, "owner") {
        options.push("owner == request.user".into());
        options.push("(owner == request.user or 'admin' in request.roles)".into());
    }
    if let Some(other) = other {
        options.push(exists(rng, cols, other));
    }
    if let Some(c) = cols.iter().find(|c| c.ty == Ty::Timestamp) {
        let op = rng.pick(&["<", ">=", "=="]);
        let at = rng.pick(&["2026-01-01T00:00:00Z", "1970-01-01T00:00:00Z"]);
        options.push(format!("{} {op} timestamp '{at}'", c.name));
    }
    (!options.is_empty()).then(|| options.swap_remove(rng.below(options.len())))
}

/// `exists t2 x where …`: a link between the two tables by a column of
/// the same type, sometimes with a condition on `t2`'s row alone.
fn exists(rng: &mut Rng, cols: &[Col], other: &[Col]) -> String {
    let links: Vec<(&Col, &Col)> = cols
        .iter()
        .flat_map(|a| other.iter().map(move |b| (a, b)))
        .filter(|(a, b)| a.ty == b.ty && a.ty != Ty::Float && a.ty != Ty::Bool)
        .collect();
    let (mine, theirs) = links[rng.below(links.len())];
    let not = if rng.chance(20) { "not " } else { "" };
    let mut text = format!("{not}exists t2 x where x.{} == {}", theirs.name, mine.name);
    if rng.chance(40) {
        let texts: Vec<&Col> = other.iter().filter(|c| c.ty == Ty::Text).collect();
        if let Some(c) = texts.first() {
            let value = text_literal(rng.pick::<&str>(&TEXTS));
            text.push_str(&format!(" and x.{} != {value}", c.name));
        } else {
            text.push_str(" and x.id > 3");
        }
    }
    text
}
