//! `Display` for the syntax tree: canonical policy source that parses back to
//! the same tree. The formatter (`fmt.rs`) adds comments on top of this.

use std::fmt::{self, Display, Formatter, Write};

use super::ast::*;

/// Words that are never bare identifiers (keep in step with `reserved` in the grammar).
pub const RESERVED: &[&str] = &[
    "and", "or", "not", "in", "is", "like", "null", "true", "false", "exists", "where", "tenant",
    "request",
];

/// Whether `name` can be printed without double quotes.
pub fn is_bare_ident(name: &str) -> bool {
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_lowercase() || first == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$')
        && !RESERVED.contains(&name)
}

/// Writes an identifier, quoting it when it would not read back as itself.
pub fn write_ident(f: &mut impl Write, name: &str) -> fmt::Result {
    if is_bare_ident(name) {
        f.write_str(name)
    } else {
        f.write_char('"')?;
        f.write_str(&name.replace('"', "\"\""))?;
        f.write_char('"')
    }
}

/// Writes a text literal with `'` doubled.
pub fn write_string(f: &mut impl Write, text: &str) -> fmt::Result {
    f.write_char('\'')?;
    f.write_str(&text.replace('\'', "''"))?;
    f.write_char('\'')
}

/// Formats microseconds since the epoch as RFC 3339 in UTC.
pub fn format_timestamp(micros: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(micros) {
        Some(t) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => format!("{micros}us"),
    }
}

impl Display for Ident {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_ident(f, &self.name)
    }
}

impl Display for TableName {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(schema) = &self.schema {
            write!(f, "{schema}.")?;
        }
        write!(f, "{}", self.name)
    }
}

impl Display for PolicyFile {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            writeln!(f, "{item}")?;
        }
        Ok(())
    }
}

impl Display for Item {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Item::Context(x) => x.fmt(f),
            Item::Table(x) => x.fmt(f),
            Item::Policy(x) => x.fmt(f),
            Item::Tier(x) => x.fmt(f),
            Item::Quota(x) => x.fmt(f),
            Item::TenantQuota(x) => x.fmt(f),
        }
    }
}

impl Display for ContextBlock {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        writeln!(f, "context {} {{", self.kind.keyword())?;
        for field in &self.fields {
            writeln!(f, "  {field}")?;
        }
        f.write_str("}")
    }
}

impl Display for FieldDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.ty)
    }
}

impl Display for TypeExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.set {
            write!(f, "set<{}>", self.scalar.keyword())?;
        } else {
            f.write_str(self.scalar.keyword())?;
        }
        if self.nullable {
            f.write_str("?")?;
        }
        Ok(())
    }
}

impl Display for TableDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.open {
            f.write_str("open ")?;
        }
        writeln!(f, "table {} {{", self.name)?;
        for column in &self.columns {
            writeln!(f, "  {column}")?;
        }
        f.write_str("}")
    }
}

impl Display for ColumnDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.ty)?;
        if let Some(preset) = &self.preset {
            write!(f, " = {preset}")?;
        }
        Ok(())
    }
}

/// The clauses of a policy after its header, one per line in canonical form.
pub fn policy_clauses(policy: &PolicyDecl) -> Vec<String> {
    let mut clauses = Vec::new();
    if let Some((mode, _)) = policy.mode {
        clauses.push(match mode {
            PolicyMode::Permissive => "as permissive".to_string(),
            PolicyMode::Restrictive => "as restrictive".to_string(),
        });
    }
    match &policy.commands {
        None => {}
        Some(CommandSpec::All(_)) => clauses.push("for all".to_string()),
        Some(CommandSpec::List(list)) => {
            let names: Vec<&str> = list.iter().map(|(c, _)| c.keyword()).collect();
            clauses.push(format!("for {}", names.join(", ")));
        }
    }
    if let Some(roles) = &policy.roles {
        let names: Vec<String> = roles.iter().map(ToString::to_string).collect();
        clauses.push(format!("to {}", names.join(", ")));
    }
    if let Some(using) = &policy.using {
        clauses.push(format!("using {using}"));
    }
    if let Some(check) = &policy.check {
        clauses.push(format!("check {check}"));
    }
    clauses
}

impl Display for PolicyDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "policy {} on {}", self.name, self.table)?;
        for clause in policy_clauses(self) {
            write!(f, "\n  {clause}")?;
        }
        f.write_str(";")
    }
}

impl Display for Limit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.name, self.value)?;
        if let Some(unit) = self.unit {
            write!(f, " {}", unit.keyword())?;
        }
        Ok(())
    }
}

fn write_limits(f: &mut Formatter<'_>, limits: &[Limit]) -> fmt::Result {
    if limits.is_empty() {
        return f.write_str("{}");
    }
    let parts: Vec<String> = limits.iter().map(ToString::to_string).collect();
    write!(f, "{{ {} }}", parts.join("; "))
}

impl Display for TierDecl {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "tier {} ", self.name)?;
        write_limits(f, &self.limits)
    }
}

impl Display for QuotaRule {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "tier {}", self.tier)?;
        if let Some(when) = &self.when {
            write!(f, " when {when}")?;
        }
        Ok(())
    }
}

impl Display for QuotaRules {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("quota {\n")?;
        for rule in &self.rules {
            writeln!(f, "  {rule}")?;
        }
        f.write_str("}")
    }
}

impl Display for TenantQuota {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str("quota tenant ")?;
        write_string(f, &self.tenant)?;
        f.write_str(" ")?;
        write_limits(f, &self.limits)
    }
}

// ---------------------------------------------------------------- expressions

impl Display for Literal {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Null => f.write_str("null"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Int(i) => write!(f, "{i}"),
            // `{:?}` is the shortest text that reads back as the same f64 and
            // always has a `.` or an exponent, so it never reads back as an int.
            Literal::Float(x) => write!(f, "{x:?}"),
            Literal::Text(s) => write_string(f, s),
            Literal::Timestamp(us) => {
                f.write_str("timestamp ")?;
                write_string(f, &format_timestamp(*us))
            }
        }
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write_expr(f, self, 0)
    }
}

/// Writes `expr`, in parentheses when it binds looser than `min_prec`.
fn write_expr(f: &mut Formatter<'_>, expr: &Expr, min_prec: u8) -> fmt::Result {
    let parens = expr.kind.precedence() < min_prec;
    if parens {
        f.write_str("(")?;
    }
    write_expr_kind(f, &expr.kind)?;
    if parens {
        f.write_str(")")?;
    }
    Ok(())
}

fn write_expr_kind(f: &mut Formatter<'_>, kind: &ExprKind) -> fmt::Result {
    match kind {
        ExprKind::Literal(lit) => lit.fmt(f),
        ExprKind::Column(name) => name.fmt(f),
        ExprKind::Context(block, field) => write!(f, "{}.{field}", block.keyword()),
        ExprKind::Qualified(table, column) => write!(f, "{table}.{column}"),
        ExprKind::Unary(UnaryOp::Not, operand) => {
            f.write_str("not ")?;
            write_expr(f, operand, prec::NOT)
        }
        ExprKind::Unary(UnaryOp::Neg, operand) => {
            f.write_str("-")?;
            write_expr(f, operand, prec::NEG)
        }
        ExprKind::Binary(op, left, right) => {
            let p = op.precedence();
            // Comparisons do not chain; the others are left-associative.
            let (left_min, right_min) = if op.is_comparison() {
                (p + 1, p + 1)
            } else {
                (p, p + 1)
            };
            write_expr(f, left, left_min)?;
            write!(f, " {} ", op.symbol())?;
            write_expr(f, right, right_min)
        }
        ExprKind::In { expr, set, negated } => {
            write_expr(f, expr, prec::TEST + 1)?;
            f.write_str(if *negated { " not in " } else { " in " })?;
            match set {
                InSet::List(items) => {
                    f.write_str("[")?;
                    for (i, item) in items.iter().enumerate() {
                        if i > 0 {
                            f.write_str(", ")?;
                        }
                        write_expr(f, item, 0)?;
                    }
                    f.write_str("]")
                }
                InSet::Expr(set) => write_expr(f, set, prec::TEST + 1),
            }
        }
        ExprKind::IsNull { expr, negated } => {
            write_expr(f, expr, prec::TEST + 1)?;
            f.write_str(if *negated { " is not null" } else { " is null" })
        }
        ExprKind::Like {
            expr,
            pattern,
            negated,
        } => {
            write_expr(f, expr, prec::TEST + 1)?;
            f.write_str(if *negated { " not like " } else { " like " })?;
            write_expr(f, pattern, prec::TEST + 1)
        }
        ExprKind::Call { func, args } => {
            write!(f, "{func}(")?;
            for (i, arg) in args.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write_expr(f, arg, 0)?;
            }
            f.write_str(")")
        }
        ExprKind::Exists { table, alias, cond } => {
            write!(f, "exists {table}")?;
            if let Some(alias) = alias {
                write!(f, " {alias}")?;
            }
            f.write_str(" where ")?;
            write_expr(f, cond, 0)
        }
    }
}
