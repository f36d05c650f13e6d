//! Random material for the differential test: policy sets written as policy
//! text (so they pass through the real parser and checker), rows and contexts.
//! Expressions avoid run-time errors: comparisons, logic, lists, null tests,
//! safe `like` patterns, `lower`/`length` and role membership only.

use std::collections::BTreeSet;

use rampart::lang::model::{ContextField, DeclaredType, PolicySet, Ty, Value};

/// splitmix64: small, seedable, good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % u64::try_from(n).unwrap()).unwrap()
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Text that data, contexts and literals draw from: tenant ids and users that
/// match each other, quotes, unicode, `like` metacharacters, backslashes.
pub const TEXTS: [&str; 20] = [
    "acme",
    "globex",
    "bob",
    "alice",
    "",
    "it's",
    "O'Brien",
    "ünïcødé",
    "100%",
    "a_b",
    "back\\slash",
    "Bob",
    "ab",
    "abc",
    "x\"y",
    "%",
    "_",
    "admin",
    "NULL",
    "日本",
];
pub const TENANTS: [&str; 3] = ["acme", "globex", "initech"];
pub const USERS: [&str; 4] = ["bob", "alice", "O'Brien", "ünïcødé"];
/// Role names: identifiers for `to`, and awkward array elements for sets.
pub const ROLES: [&str; 4] = ["admin", "member", "editor", "r"];
const AWKWARD_ROLES: [&str; 5] = ["NULL", "a,b", "o'k", "x \"y\"", "back\\slash"];
const LIKE_PATTERNS: [&str; 10] = [
    "a%", "%b%", "_", "%\\%%", "%\\_%", "it''s%", "%", "", "B_b", "%ü%",
];

/// A policy literal for `s`: `'it''s'`.
pub fn text_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A column as the policy generators see it.
pub struct Col {
    pub name: String,
    pub ty: Ty,
    pub nullable: bool,
}

/// Writes the text of a random policy set: 1–2 tables, 1–4 policies each.
pub fn policy_text(rng: &mut Rng) -> String {
    let mut out = String::from(
        "context tenant { id: text }\ncontext request { user: text, roles: set<text> }\n",
    );
    for t in 1..=1 + rng.below(2) {
        let mut cols = vec![Col {
            name: "id".into(),
            ty: Ty::Int,
            nullable: false,
        }];
        let types = [
            (Ty::Int, false),
            (Ty::Int, true),
            (Ty::Text, false),
            (Ty::Text, true),
            (Ty::Bool, true),
            (Ty::Float, true),
        ];
        for c in 1..=2 + rng.below(4) {
            let (ty, nullable) = *rng.pick(&types);
            cols.push(Col {
                name: format!("c{c}"),
                ty,
                nullable,
            });
        }
        let decl: Vec<String> = cols
            .iter()
            .map(|c| format!("{}: {}{}", c.name, c.ty, if c.nullable { "?" } else { "" }))
            .collect();
        out.push_str(&format!("table t{t} {{ {} }}\n", decl.join(", ")));
        for p in 1..=1 + rng.below(4) {
            out.push_str(&policy(rng, t, p, &cols));
        }
    }
    out
}

fn policy(rng: &mut Rng, table: usize, n: usize, cols: &[Col]) -> String {
    policy_with(rng, table, n, 35, |rng| bool_expr(rng, cols, 3))
}

/// A random policy `p{n}` on `t{table}`: restrictive or not, for random
/// commands, `to` random roles with a chance of `roles_chance` percent, and
/// `using` / `check` clauses where the commands take them, each a
/// `condition`.
pub fn policy_with(
    rng: &mut Rng,
    table: usize,
    n: usize,
    roles_chance: usize,
    mut condition: impl FnMut(&mut Rng) -> String,
) -> String {
    const COMMANDS: [&str; 4] = ["select", "insert", "update", "delete"];
    let mut text = format!("policy p{n} on t{table}");
    if rng.chance(35) {
        text.push_str(" as restrictive");
    }
    let commands: Vec<&str> = if rng.chance(30) {
        COMMANDS.to_vec()
    } else {
        let chosen: Vec<&str> = COMMANDS.into_iter().filter(|_| rng.chance(40)).collect();
        if chosen.is_empty() {
            vec![*rng.pick(&COMMANDS)]
        } else {
            chosen
        }
    };
    if commands.len() == 4 && rng.chance(50) {
        text.push_str(" for all");
    } else if commands.len() < 4 || rng.chance(50) {
        text.push_str(&format!(" for {}", commands.join(", ")));
    }
    if rng.chance(roles_chance) {
        let roles: Vec<&str> = ROLES[..3]
            .iter()
            .copied()
            .filter(|_| rng.chance(50))
            .collect();
        let roles = if roles.is_empty() {
            vec![*rng.pick(&ROLES[..3])]
        } else {
            roles
        };
        text.push_str(&format!(" to {}", roles.join(", ")));
    }
    let reads = commands.iter().any(|c| *c != "insert");
    let writes = commands.iter().any(|c| *c == "insert" || *c == "update");
    if reads && rng.chance(90) {
        text.push_str(&format!("\n  using {}", condition(rng)));
    }
    if writes && rng.chance(if reads { 50 } else { 90 }) {
        text.push_str(&format!("\n  check {}", condition(rng)));
    }
    text.push_str(";\n");
    text
}

fn cols_of(cols: &[Col], ty: Ty) -> Vec<&Col> {
    cols.iter().filter(|c| c.ty == ty).collect()
}

/// A `bool` expression at most `depth` levels of logic deep.
pub fn bool_expr(rng: &mut Rng, cols: &[Col], depth: usize) -> String {
    if depth > 0 && rng.chance(45) {
        return match rng.below(3) {
            0 => format!(
                "({} and {})",
                bool_expr(rng, cols, depth - 1),
                bool_expr(rng, cols, depth - 1)
            ),
            1 => format!(
                "({} or {})",
                bool_expr(rng, cols, depth - 1),
                bool_expr(rng, cols, depth - 1)
            ),
            _ => format!("not ({})", bool_expr(rng, cols, depth - 1)),
        };
    }
    atom(rng, cols)
}

fn atom(rng: &mut Rng, cols: &[Col]) -> String {
    let ops = ["==", "!=", "<", "<=", ">", ">="];
    loop {
        match rng.below(10) {
            0 => {
                return format!(
                    "{} {} {}",
                    int_expr(rng, cols),
                    rng.pick(&ops),
                    int_expr(rng, cols)
                )
            }
            1 | 2 => {
                return format!(
                    "{} {} {}",
                    text_expr(rng, cols),
                    rng.pick(&ops),
                    text_expr(rng, cols)
                )
            }
            3 => {
                let Some(c) = pick_col(rng, cols, Ty::Float) else {
                    continue;
                };
                let lit = rng.pick(&["0", "1.5", "-2", "0.0", "10000000000.0"]);
                return format!("{c} {} {lit}", rng.pick(&ops));
            }
            4 => {
                let Some(c) = pick_col(rng, cols, Ty::Bool) else {
                    continue;
                };
                return match rng.below(3) {
                    0 => c,
                    1 => format!("{c} == {}", rng.pick(&["true", "false", "null"])),
                    _ => format!("not {c}"),
                };
            }
            5 => {
                let negated = if rng.chance(30) { " not" } else { "" };
                let mut items: Vec<String> = (0..1 + rng.below(3))
                    .map(|_| text_literal(rng.pick::<&str>(&TEXTS)))
                    .collect();
                if rng.chance(20) {
                    items.push("null".into());
                }
                return format!(
                    "{}{negated} in [{}]",
                    text_expr(rng, cols),
                    items.join(", ")
                );
            }
            6 => {
                let nullable: Vec<&Col> = cols.iter().filter(|c| c.nullable).collect();
                if nullable.is_empty() {
                    continue;
                }
                let c = &rng.pick(&nullable).name;
                let not = if rng.chance(50) { " not" } else { "" };
                return format!("{c} is{not} null");
            }
            7 => {
                let not = if rng.chance(30) { " not" } else { "" };
                return format!(
                    "{}{not} like '{}'",
                    text_expr(rng, cols),
                    rng.pick(&LIKE_PATTERNS)
                );
            }
            8 => {
                let not = if rng.chance(30) { " not" } else { "" };
                let role = if rng.chance(80) {
                    text_literal(rng.pick::<&str>(&ROLES))
                } else {
                    text_expr(rng, cols)
                };
                return format!("{role}{not} in request.roles");
            }
            _ => {
                let Some(c) = pick_col(rng, cols, Ty::Text) else {
                    continue;
                };
                let field = rng.pick(&["request.user", "tenant.id"]);
                return format!("{c} {} {field}", rng.pick(&["==", "!="]));
            }
        }
    }
}

fn pick_col(rng: &mut Rng, cols: &[Col], ty: Ty) -> Option<String> {
    let found = cols_of(cols, ty);
    (!found.is_empty()).then(|| rng.pick(&found).name.clone())
}

fn int_expr(rng: &mut Rng, cols: &[Col]) -> String {
    match rng.below(4) {
        0 | 1 => pick_col(rng, cols, Ty::Int).unwrap_or_else(|| "id".into()),
        2 => format!("length({})", text_expr(rng, cols)),
        _ => rng.pick(&["0", "1", "-3", "7", "null"]).to_string(),
    }
}

fn text_expr(rng: &mut Rng, cols: &[Col]) -> String {
    match rng.below(6) {
        0..=2 => match pick_col(rng, cols, Ty::Text) {
            Some(c) => c,
            None => text_literal(rng.pick::<&str>(&TEXTS)),
        },
        3 => format!("lower({})", text_expr(rng, cols)),
        4 => rng.pick(&["request.user", "tenant.id"]).to_string(),
        _ => text_literal(rng.pick::<&str>(&TEXTS)),
    }
}

/// A random value of a column or context field. `extremes` adds the
/// largest integers and non-finite floats (for sets without arithmetic).
pub fn value(rng: &mut Rng, ty: DeclaredType, extremes: bool) -> Value {
    if ty.nullable && rng.chance(20) {
        return Value::Null;
    }
    match ty.ty {
        Ty::Int if extremes && rng.chance(10) => Value::Int(*rng.pick(&[i64::MIN, i64::MAX])),
        Ty::Int => Value::Int(i64::try_from(rng.below(14)).unwrap() - 3),
        Ty::Float => {
            let mut pool = vec![-1.5, 0.0, -0.0, 2.5, 3.0, 1e10, 7.0];
            if extremes {
                pool.extend([f64::NAN, f64::INFINITY, f64::NEG_INFINITY]);
            }
            Value::Float(*rng.pick(&pool))
        }
        Ty::Bool => Value::Bool(rng.chance(50)),
        Ty::Timestamp => Value::Timestamp(*rng.pick(&[
            0,
            1_767_225_600_000_000,
            1_767_225_600_000_001,
            -86_400_000_000,
        ])),
        Ty::TextSet => Value::TextSet(
            ROLES
                .iter()
                .chain(&AWKWARD_ROLES)
                .filter(|_| rng.chance(30))
                .map(|s| (*s).to_string())
                .collect::<BTreeSet<_>>(),
        ),
        Ty::IntSet => Value::IntSet((-1..6).filter(|_| rng.chance(40)).collect()),
        // Non-empty for nullable text: an empty setting reads as null.
        Ty::Text | Ty::Null => loop {
            let t = if rng.chance(50) {
                rng.pick(&TENANTS[..2]).to_string()
            } else if rng.chance(50) {
                rng.pick(&USERS).to_string()
            } else {
                rng.pick(&TEXTS).to_string()
            };
            if !(ty.nullable && t.is_empty()) {
                break Value::Text(t);
            }
        },
    }
}

/// A random context for the set: tenant ids that occur in the data, users,
/// role sets (empty included), floats that are never zero.
pub fn context(rng: &mut Rng, set: &PolicySet) -> Vec<Value> {
    set.context
        .iter()
        .map(|f: &ContextField| match (f.name.as_str(), f.ty.ty) {
            ("id", Ty::Text) => Value::Text(rng.pick(&TENANTS).to_string()),
            ("user", Ty::Text) => Value::Text(rng.pick(&USERS).to_string()),
            ("roles", Ty::TextSet) if rng.chance(25) => Value::TextSet(BTreeSet::new()),
            (_, Ty::Float) if !(f.ty.nullable && rng.chance(20)) => {
                Value::Float(*rng.pick(&[0.5, 2.0, -1.5]))
            }
            _ => value(rng, f.ty, false),
        })
        .collect()
}
