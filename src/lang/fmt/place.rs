//! Where each comment goes: before an element, at the end of its line, inside
//! it (to be moved before it), or after the last one; and where the user left
//! blank lines. Positions are byte offsets in the source being formatted.

use crate::lang::ast::Comment;

/// A source range of one element (a header, column, clause or item), with
/// trailing whitespace and comments already cut off.
#[derive(Clone, Copy, Debug)]
pub(super) struct Slot {
    pub start: usize,
    pub end: usize,
}

/// The comments attached to one element.
#[derive(Debug, Default)]
pub(super) struct Attached<'c> {
    /// On their own lines before the element, each with whether a blank line
    /// came before it.
    pub leading: Vec<(&'c Comment, bool)>,
    /// Inside the element (a multi-line expression, an item's body).
    pub inside: Vec<&'c Comment>,
    /// At the end of the element's last line.
    pub trailing: Vec<&'c Comment>,
    /// Whether a blank line came before the element itself.
    pub blank_before: bool,
}

#[derive(Debug)]
pub(super) struct Placement<'c> {
    /// One per slot, in the order the slots were given.
    pub slots: Vec<Attached<'c>>,
    /// Own-line comments after the last slot, each with its blank-line flag.
    pub dangling: Vec<(&'c Comment, bool)>,
}

enum Thing<'c> {
    Slot(usize),
    Comment(&'c Comment, Place),
}

enum Place {
    Inside(usize),
    Trailing(usize),
    Leading(usize),
    Dangling,
}

/// Attaches `comments` (in source order) to `slots` (in any order, not
/// overlapping). `region_start` is where the enclosing region begins, for
/// deciding whether the first thing in it follows a blank line.
pub(super) fn place<'c>(
    source: &str,
    comments: &[&'c Comment],
    region_start: usize,
    slots: &[Slot],
) -> Placement<'c> {
    let mut order: Vec<usize> = (0..slots.len()).collect();
    order.sort_by_key(|&i| slots.get(i).map_or(0, |s| s.start));
    let sorted: Vec<(usize, Slot)> = order
        .iter()
        .filter_map(|&i| slots.get(i).map(|s| (i, *s)))
        .collect();
    let mut placement = Placement {
        slots: slots.iter().map(|_| Attached::default()).collect(),
        dangling: Vec::new(),
    };
    // Things that decide blank lines: slots and comments outside slots.
    let mut things: Vec<(usize, usize, Thing<'c>)> = sorted
        .iter()
        .map(|(i, s)| (s.start, s.end, Thing::Slot(*i)))
        .collect();
    for &comment in comments {
        let at = comment.span.start as usize;
        match locate(source, &sorted, at) {
            Place::Inside(i) => {
                if let Some(slot) = placement.slots.get_mut(i) {
                    slot.inside.push(comment);
                }
            }
            place => things.push((
                at,
                comment.span.end as usize,
                Thing::Comment(comment, place),
            )),
        }
    }
    things.sort_by_key(|t| t.0);
    let mut last_end = region_start;
    for (start, end, thing) in things {
        let blank = blank_line_between(source, last_end, start);
        last_end = last_end.max(end);
        match thing {
            Thing::Slot(i) => {
                if let Some(slot) = placement.slots.get_mut(i) {
                    slot.blank_before = blank;
                }
            }
            Thing::Comment(comment, Place::Trailing(i)) => {
                if let Some(slot) = placement.slots.get_mut(i) {
                    slot.trailing.push(comment);
                }
            }
            Thing::Comment(comment, Place::Leading(i)) => {
                if let Some(slot) = placement.slots.get_mut(i) {
                    slot.leading.push((comment, blank));
                }
            }
            Thing::Comment(comment, Place::Dangling | Place::Inside(_)) => {
                placement.dangling.push((comment, blank));
            }
        }
    }
    placement
}

/// Where a comment starting at `at` belongs, given the slots in source order
/// (a binary search: files may hold many thousands of items and comments).
fn locate(source: &str, sorted: &[(usize, Slot)], at: usize) -> Place {
    let next = sorted.partition_point(|(_, s)| s.start <= at);
    if let Some((i, slot)) = next.checked_sub(1).and_then(|k| sorted.get(k)) {
        if at < slot.end {
            return Place::Inside(*i);
        }
        if !source.get(slot.end..at).unwrap_or("\n").contains('\n') {
            return Place::Trailing(*i);
        }
    }
    match sorted.get(next) {
        Some((i, _)) => Place::Leading(*i),
        None => Place::Dangling,
    }
}

/// Whether the text between two offsets holds an empty line.
pub(super) fn blank_line_between(source: &str, from: usize, to: usize) -> bool {
    source
        .get(from.min(to)..to)
        .is_some_and(|gap| gap.matches('\n').count() >= 2)
}
