//! The canonical formatter: the printer's layout (`print.rs`) with every
//! comment kept in its place. Idempotent, and checked on every run to read
//! back as the same syntax tree with the same comments.

mod layout;
mod place;

use super::ast::*;
use super::diag::Diagnostic;
use super::parse::parse_file;
use super::scan::trim_trivia;
use layout::{comment_text, finish, with_comment, wrap_expr, Row};
use place::{place, Slot};

pub use layout::MAX_WIDTH;

#[derive(Debug, thiserror::Error)]
pub enum FmtError {
    /// The text does not parse; the diagnostics say why.
    #[error("the file does not parse")]
    Parse(Vec<Diagnostic>),
    /// A bug: the output would not read back as the input did.
    #[error("internal error: the formatted text would not read back the same, so the file was left alone")]
    Unstable,
}

/// Formats policy source text. `file` is the id its diagnostics should carry.
pub fn format_source(file: FileId, source: &str) -> Result<String, FmtError> {
    let parsed = parse_file(file, source).map_err(FmtError::Parse)?;
    format_parsed(source, &parsed)
}

/// Formats an already parsed file; `source` is the text it was parsed from.
/// The result is verified: it parses to the same tree with the same comments
/// (first with long expressions broken over lines, then without).
pub fn format_parsed(source: &str, parsed: &PolicyFile) -> Result<String, FmtError> {
    for wrap in [true, false] {
        let printer = Printer {
            source,
            comments: &parsed.comments,
            wrap,
        };
        let out = printer.file(&parsed.items);
        if reads_back_same(&out, parsed) {
            return Ok(out);
        }
    }
    Err(FmtError::Unstable)
}

fn reads_back_same(out: &str, parsed: &PolicyFile) -> bool {
    match parse_file(0, out) {
        Ok(again) => again.items == parsed.items && comment_texts(&again) == comment_texts(parsed),
        Err(_) => false,
    }
}

/// The comments' texts, sorted: the formatter may reorder them (with the
/// clauses they belong to) but never lose or change one.
fn comment_texts(file: &PolicyFile) -> Vec<&str> {
    let mut texts: Vec<&str> = file.comments.iter().map(|c| c.text.trim_end()).collect();
    texts.sort_unstable();
    texts
}

struct Printer<'a> {
    source: &'a str,
    comments: &'a [Comment],
    wrap: bool,
}

/// An item's lines, and comments from inside its header that go before it.
struct ItemOut<'c> {
    before: Vec<&'c Comment>,
    lines: Vec<String>,
}

/// One element of a block: its source range and its code lines.
struct Element {
    slot: Slot,
    lines: Vec<String>,
}

/// A block's body laid out, with the comments that belong outside it.
struct Body<'c> {
    header_inside: Vec<&'c Comment>,
    header_trailing: Option<&'c Comment>,
    rows: Vec<Row>,
    /// Whether any comment ended up among the rows or after the header.
    has_comments: bool,
}

impl<'a> Printer<'a> {
    fn slot(&self, span: Span) -> Slot {
        let start = span.start as usize;
        let end = trim_trivia(self.source, self.comments, start, span.end as usize);
        Slot {
            start,
            end: end.max(start),
        }
    }

    fn file(&self, items: &[Item]) -> String {
        let comments: Vec<&Comment> = self.comments.iter().collect();
        let slots: Vec<Slot> = items.iter().map(|i| self.slot(i.span())).collect();
        let placement = place(self.source, &comments, 0, &slots);
        let mut lines: Vec<(bool, String)> = Vec::new();
        for (item, attached) in items.iter().zip(placement.slots) {
            let out = self.item(item, &attached.inside, &attached.trailing);
            let mut entry: Vec<(bool, String)> = attached
                .leading
                .iter()
                .map(|(c, blank)| (*blank, comment_text(c)))
                .collect();
            let mut blank = attached.blank_before;
            for comment in out.before {
                entry.push((blank, comment_text(comment)));
                blank = false;
            }
            for (k, line) in out.lines.into_iter().enumerate() {
                entry.push((k == 0 && blank, line));
            }
            // Exactly one blank line between items.
            if let Some(first) = entry.first_mut() {
                first.0 = !lines.is_empty();
            }
            lines.extend(entry);
        }
        for (comment, blank) in placement.dangling {
            lines.push((blank && !lines.is_empty(), comment_text(comment)));
        }
        let mut out = String::new();
        for (blank, line) in lines {
            if blank {
                out.push('\n');
            }
            out.push_str(&line);
            out.push('\n');
        }
        out
    }

    fn item<'c>(
        &self,
        item: &Item,
        inside: &[&'c Comment],
        trailing: &[&'c Comment],
    ) -> ItemOut<'c> {
        match item {
            Item::Context(block) => {
                let elements = block
                    .fields
                    .iter()
                    .map(|f| self.element(f.span, vec![f.to_string()]))
                    .collect();
                let header = format!("context {}", block.kind.keyword());
                self.braced(block.span, header, elements, inside, trailing, None)
            }
            Item::Table(table) => {
                let elements = table
                    .columns
                    .iter()
                    .map(|c| self.element(c.span, vec![c.to_string()]))
                    .collect();
                let open = if table.open { "open " } else { "" };
                let header = format!("{open}table {}", table.name);
                self.braced(table.span, header, elements, inside, trailing, None)
            }
            Item::Tier(tier) => {
                let elements = self.limits(&tier.limits);
                let header = format!("tier {}", tier.name);
                let line = tier.to_string();
                self.braced(tier.span, header, elements, inside, trailing, Some(line))
            }
            Item::TenantQuota(quota) => {
                let elements = self.limits(&quota.limits);
                let mut header = String::from("quota tenant ");
                // Writing to a String cannot fail.
                let _ = crate::lang::print::write_string(&mut header, &quota.tenant);
                let line = quota.to_string();
                self.braced(quota.span, header, elements, inside, trailing, Some(line))
            }
            Item::Quota(quota) => {
                let elements = quota
                    .rules
                    .iter()
                    .map(|rule| {
                        let lines = match &rule.when {
                            Some(when) => {
                                let head = format!("tier {} when ", rule.tier);
                                wrap_expr(&head, when, 2, self.wrap)
                            }
                            None => vec![format!("tier {}", rule.tier)],
                        };
                        self.element(rule.span, lines)
                    })
                    .collect();
                let header = "quota".to_string();
                self.braced(quota.span, header, elements, inside, trailing, None)
            }
            Item::Policy(policy) => self.policy(policy, inside, trailing),
        }
    }

    fn element(&self, span: Span, lines: Vec<String>) -> Element {
        Element {
            slot: self.slot(span),
            lines,
        }
    }

    /// Limits one per line. A limit without a unit takes a `;` when the next
    /// one's name would otherwise read as its unit (`b`, `kb`, …).
    fn limits(&self, limits: &[Limit]) -> Vec<Element> {
        let units = ["b", "kb", "mb", "gb", "tb"];
        limits
            .iter()
            .enumerate()
            .map(|(i, limit)| {
                let mut line = limit.to_string();
                let next_is_unit = limits
                    .get(i + 1)
                    .is_some_and(|next| units.contains(&next.name.name.as_str()));
                if limit.unit.is_none() && next_is_unit {
                    line.push(';');
                }
                self.element(limit.span, vec![line])
            })
            .collect()
    }

    /// An item in braces: `header {`, one element per line, `}`. Tiers and
    /// tenant quotas without comments stay on one line (`single_line`).
    fn braced<'c>(
        &self,
        span: Span,
        header: String,
        elements: Vec<Element>,
        inside: &[&'c Comment],
        trailing: &[&'c Comment],
        single_line: Option<String>,
    ) -> ItemOut<'c> {
        let start = span.start as usize;
        let brace = self.open_brace(start, span.end as usize);
        let header_slot = Slot {
            start,
            end: brace + 1,
        };
        let body = self.body(inside, header_slot, elements, None);
        let mut before = body.header_inside;
        let (item_trailing, extra) = match trailing.split_first() {
            Some((first, rest)) => (Some(*first), rest),
            None => (None, &[][..]),
        };
        before.extend(extra);
        if let Some(line) = single_line.filter(|_| !body.has_comments) {
            return ItemOut {
                before,
                lines: vec![with_comment(line, item_trailing)],
            };
        }
        let mut lines = vec![with_comment(format!("{header} {{"), body.header_trailing)];
        lines.extend(finish(body.rows, "  "));
        lines.push(with_comment("}".to_string(), item_trailing));
        ItemOut { before, lines }
    }

    /// `policy name on table`, its clauses one per line, `;` after the last.
    fn policy<'c>(
        &self,
        policy: &PolicyDecl,
        inside: &[&'c Comment],
        trailing: &[&'c Comment],
    ) -> ItemOut<'c> {
        let start = policy.span.start as usize;
        let table = self.slot(policy.table.span);
        let header_slot = Slot {
            start,
            end: table.end.max(start),
        };
        let mut elements = self.clauses(policy);
        let header = format!("policy {} on {}", policy.name, policy.table);
        let Some(last) = elements.last_mut() else {
            let body = self.body(inside, header_slot, elements, Some(trailing));
            return ItemOut {
                before: body.header_inside,
                lines: vec![with_comment(format!("{header};"), body.header_trailing)],
            };
        };
        if let Some(line) = last.lines.last_mut() {
            line.push(';');
        }
        let body = self.body(inside, header_slot, elements, Some(trailing));
        let mut lines = vec![with_comment(header, body.header_trailing)];
        lines.extend(finish(body.rows, "  "));
        ItemOut {
            before: body.header_inside,
            lines,
        }
    }

    /// A policy's clauses in canonical order, each with its source range.
    fn clauses(&self, policy: &PolicyDecl) -> Vec<Element> {
        let mut clauses = Vec::new();
        if let Some((mode, span)) = policy.mode {
            let word = match mode {
                PolicyMode::Permissive => "as permissive",
                PolicyMode::Restrictive => "as restrictive",
            };
            clauses.push(self.element(span, vec![word.to_string()]));
        }
        match &policy.commands {
            None => {}
            Some(CommandSpec::All(span)) => {
                clauses.push(self.element(*span, vec!["for all".to_string()]));
            }
            Some(CommandSpec::List(list)) => {
                if let (Some(first), Some(last)) = (list.first(), list.last()) {
                    let names: Vec<&str> = list.iter().map(|(c, _)| c.keyword()).collect();
                    let line = format!("for {}", names.join(", "));
                    clauses.push(self.element(first.1.to(last.1), vec![line]));
                }
            }
        }
        if let Some(roles) = &policy.roles {
            if let (Some(first), Some(last)) = (roles.first(), roles.last()) {
                let names: Vec<String> = roles.iter().map(ToString::to_string).collect();
                let line = format!("to {}", names.join(", "));
                clauses.push(self.element(first.span.to(last.span), vec![line]));
            }
        }
        for (word, expr) in [("using ", &policy.using), ("check ", &policy.check)] {
            if let Some(expr) = expr {
                let lines = wrap_expr(word, expr, 2, self.wrap);
                clauses.push(self.element(expr.span, lines));
            }
        }
        clauses
    }

    /// Lays out a block's elements with their comments. For a policy
    /// (`policy_trailing` given: the comment after its `;`), comments after
    /// the last clause go before it and the item's end-of-line comment goes
    /// on the last line, since the `;` closes that line.
    fn body<'c>(
        &self,
        comments: &[&'c Comment],
        header: Slot,
        elements: Vec<Element>,
        policy_trailing: Option<&[&'c Comment]>,
    ) -> Body<'c> {
        let mut slots = vec![header];
        slots.extend(elements.iter().map(|e| e.slot));
        let mut placement = place(self.source, comments, header.start, &slots);
        let mut attached = placement.slots.into_iter();
        let head = attached.next().unwrap_or_default();
        let mut header_inside = head.inside;
        header_inside.extend(head.leading.iter().map(|(c, _)| *c));
        let mut header_trailing = head.trailing;
        let mut attached: Vec<_> = attached.collect();
        let mut has_comments = !header_trailing.is_empty();
        if let Some(item_trailing) = policy_trailing {
            let dangling = std::mem::take(&mut placement.dangling);
            match attached.last_mut() {
                Some(last) => {
                    last.inside.extend(dangling.into_iter().map(|(c, _)| c));
                    last.trailing.extend(item_trailing);
                }
                None => {
                    header_inside.extend(dangling.into_iter().map(|(c, _)| c));
                    header_trailing.extend(item_trailing);
                }
            }
        }
        // Only one comment fits at the end of a line; any other goes before.
        let mut header_trailing = header_trailing.into_iter();
        let first_header_trailing = header_trailing.next();
        header_inside.extend(header_trailing);
        let mut rows = Vec::new();
        for (k, (element, attached)) in elements.into_iter().zip(attached).enumerate() {
            let mut entry: Vec<(bool, Row)> = Vec::new();
            for (comment, blank) in &attached.leading {
                entry.push((*blank, Row::Comment(comment_text(comment))));
            }
            let mut trailing = attached.trailing.into_iter();
            let end_comment = trailing.next().map(comment_text);
            let mut moved = attached.inside;
            moved.extend(trailing);
            let mut blank = attached.blank_before;
            for comment in moved {
                entry.push((blank, Row::Comment(comment_text(comment))));
                blank = false;
            }
            let count = element.lines.len();
            for (j, line) in element.lines.into_iter().enumerate() {
                let comment = if j + 1 == count {
                    end_comment.clone()
                } else {
                    None
                };
                entry.push((j == 0 && blank, Row::Code(line, comment)));
            }
            if k == 0 {
                if let Some(first) = entry.first_mut() {
                    first.0 = false;
                }
            }
            for (blank, row) in entry {
                has_comments |= !matches!(row, Row::Code(_, None));
                if blank {
                    rows.push(Row::Blank);
                }
                rows.push(row);
            }
        }
        for (comment, blank) in placement.dangling {
            has_comments = true;
            if blank && !rows.is_empty() {
                rows.push(Row::Blank);
            }
            rows.push(Row::Comment(comment_text(comment)));
        }
        Body {
            header_inside,
            header_trailing: first_header_trailing,
            rows,
            has_comments,
        }
    }

    /// The `{` that opens an item's body: the first outside comments, strings
    /// and quoted names.
    fn open_brace(&self, from: usize, to: usize) -> usize {
        let bytes = self.source.as_bytes();
        let to = to.min(bytes.len());
        let mut i = from;
        while let Some(&b) = bytes.get(i).filter(|_| i < to) {
            match b {
                b'{' => return i,
                b'#' => {
                    let rest = bytes.get(i..to).unwrap_or(&[]);
                    i += rest.iter().position(|&c| c == b'\n').unwrap_or(rest.len());
                }
                b'\'' | b'"' => {
                    let rest = bytes.get(i + 1..to).unwrap_or(&[]);
                    i += 1 + rest
                        .iter()
                        .position(|&c| c == b)
                        .map_or(rest.len(), |n| n + 1);
                }
                _ => i += 1,
            }
        }
        from
    }
}
