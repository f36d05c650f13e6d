//! "Did you mean …?": the closest known name to a misspelt one, by edit
//! distance, for the checker's messages.

/// The candidate closest to `name`, if it is close enough to be a likely typo.
/// Ties go to the earliest candidate, so suggestions follow declaration order.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let distance = strsim::osa_distance(name, candidate);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// ` (did you mean `x`?)`, or nothing: appended to a message.
pub fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!(" (did you mean `{s}`?)"))
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_and_ignores_strangers() {
        let names = ["amount", "status", "owner"];
        assert_eq!(closest("amout", names), Some("amount"));
        assert_eq!(closest("stauts", names), Some("status"));
        assert_eq!(closest("zzz", names), None);
        assert_eq!(closest("id", ["ip", "idx"]), Some("ip"));
    }
}
